using Fs.Core.Objects;

namespace Fs.Core.Cache;

/// <summary>Names one immutable block: block <see cref="Index"/> of slice <see cref="SliceId"/>, holding <see cref="Size"/> bytes.</summary>
public readonly record struct BlockKey(ulong SliceId, int Index, int Size)
{
    /// <summary>The object key, spread over directories so no directory grows huge: chunks/0/1/1234_0_4194304.</summary>
    public string ObjectKey => $"chunks/{SliceId / 1_000_000}/{SliceId / 1000}/{SliceId}_{Index}_{Size}";

    public static bool TryParse(string objectKey, out BlockKey key)
    {
        key = default;
        var name = objectKey.AsSpan(objectKey.LastIndexOf('/') + 1);
        var parts = name.ToString().Split('_');
        if (parts.Length != 3 || !objectKey.StartsWith("chunks/", StringComparison.Ordinal))
            return false;
        if (!ulong.TryParse(parts[0], out var id) || !int.TryParse(parts[1], out var index) || !int.TryParse(parts[2], out var size))
            return false;
        key = new BlockKey(id, index, size);
        return key.ObjectKey == objectKey;
    }
}

/// <summary>Bytes of a cached block; while <see cref="Owner"/> is held its memory is not reused (null: memory no one reuses).</summary>
internal readonly record struct BlockSpan(ReadOnlyMemory<byte> Data, BlockBuffer? Owner);

/// <summary>What the chunk layer reads and writes blocks through: the block cache in front of the codec and the object store.</summary>
internal interface IBlockStore
{
    /// <summary>Copies bytes [offset, offset + destination.Length) of the block into destination.</summary>
    ValueTask ReadAsync(BlockKey key, int offset, Memory<byte> destination, CancellationToken ct);

    /// <summary>
    /// Bytes [offset, offset + length) of the block where they lie in the cache, held for the caller: it lets go of
    /// <see cref="BlockSpan.Owner"/> (when there is one) once it is done with the bytes.
    /// </summary>
    ValueTask<BlockSpan> AcquireAsync(BlockKey key, int offset, int length, CancellationToken ct);

    /// <summary>
    /// Stores a new block (encoded and uploaded) and keeps it in cache; returns once it is stored (durable after the next <see cref="SyncAsync"/>).
    /// The caller hands <paramref name="data"/> over: it must not change the bytes afterwards (the cache keeps them).
    /// </summary>
    ValueTask WriteAsync(BlockKey key, ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>Makes every block written so far durable in the object store.</summary>
    ValueTask SyncAsync(CancellationToken ct);

    /// <summary>Removes a block from the cache and the object store.</summary>
    ValueTask DeleteAsync(BlockKey key, CancellationToken ct);

    /// <summary>Starts loading a block into the cache in the background, if it is not there yet.</summary>
    void Prefetch(BlockKey key);
}
