namespace Fs.Core.Objects;

/// <summary>A flat store of immutable objects addressed by key (a local directory, S3, ...).</summary>
public interface IObjectStore : IAsyncDisposable
{
    /// <summary>Human-readable description, e.g. file:///var/lib/appliance/objects.</summary>
    string Description { get; }

    /// <summary>Creates the store's container (directory, bucket) when missing.</summary>
    Task CreateAsync(CancellationToken ct);

    /// <summary>
    /// Stores an object atomically: readers see all of it or none of it. It is durable once <see cref="SyncAsync"/>
    /// has returned after this put (stores whose puts are durable on return, like S3, need nothing more).
    /// </summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>Makes every put that has completed durable; the chunk layer calls it before committing data as stable.</summary>
    Task SyncAsync(CancellationToken ct);

    /// <summary>Reads a whole object; throws <see cref="ObjectNotFoundException"/> when it does not exist.</summary>
    Task<byte[]> GetAsync(string key, CancellationToken ct);

    /// <summary>
    /// Reads a whole object into the start of <paramref name="destination"/> and returns its length: how the block cache
    /// reads into memory it reuses. Throws <see cref="ObjectNotFoundException"/> when the object does not exist, and
    /// <see cref="CorruptObjectException"/> when it is larger than <paramref name="destination"/> (callers make room
    /// for the largest object that can be valid, so a larger one is damaged).
    /// </summary>
    Task<int> GetAsync(string key, Memory<byte> destination, CancellationToken ct);

    /// <summary>Deletes an object; deleting a missing object succeeds.</summary>
    Task DeleteAsync(string key, CancellationToken ct);

    /// <summary>Size of an object, or null when it does not exist.</summary>
    Task<long?> HeadAsync(string key, CancellationToken ct);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct);
}

/// <summary>An object's key, size and modification time.</summary>
public readonly record struct ObjectInfo(string Key, long Size, DateTime ModifiedUtc);

/// <summary>The object asked for does not exist.</summary>
public sealed class ObjectNotFoundException(string key) : Exception($"object not found: {key}")
{
    public string Key { get; } = key;
}

/// <summary>The object exists but its content failed its checksum or could not be decoded.</summary>
public sealed class CorruptObjectException(string key, string reason) : Exception($"corrupt object {key}: {reason}")
{
    public string Key { get; } = key;
}
