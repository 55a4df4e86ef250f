namespace Fs.Core.Vfs;

/// <summary>What `appliance format` asks for.</summary>
public sealed record FormatOptions
{
    public required string Name { get; init; }
    public required string MetaUrl { get; init; }
    public required string StorageUrl { get; init; }
    public int BlockSize { get; init; } = Meta.VolumeFormat.DefaultBlockSize;
    /// <summary>none, lz4 or zstd.</summary>
    public string Compression { get; init; } = "none";
    /// <summary>A file holding the 32-byte AES-256 key (raw, hex or base64); null = no encryption.</summary>
    public string? EncryptKeyFile { get; init; }
    public int TrashDays { get; init; }
    public long CapacityBytes { get; init; }
    public long InodeLimit { get; init; }
}

/// <summary>A volume could not be formatted or opened (bad URL, not formatted, wrong key...). The message is for the operator.</summary>
public sealed class VolumeException(string message, Exception? inner = null) : Exception(message, inner);
