using Fs.Core.Vfs;

namespace Fs.Core.Objects;

/// <summary>How a block's payload is compressed; the value is what the block header records.</summary>
public enum BlockCompression : byte
{
    None = 0,
    Lz4 = 1,
    Zstd = 2,
}

/// <summary>Parses and names <see cref="BlockCompression"/> the way volume formats and the command line spell them.</summary>
public static class BlockCompressions
{
    /// <summary>Parses none, lz4 or zstd (case-insensitive); anything else is an operator error.</summary>
    public static BlockCompression Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" or "" => BlockCompression.None,
        "lz4" => BlockCompression.Lz4,
        "zstd" => BlockCompression.Zstd,
        _ => throw new VolumeException($"unknown compression '{name}'; supported: none, lz4, zstd"),
    };

    public static string Name(this BlockCompression compression) => compression switch
    {
        BlockCompression.None => "none",
        BlockCompression.Lz4 => "lz4",
        BlockCompression.Zstd => "zstd",
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, null),
    };
}
