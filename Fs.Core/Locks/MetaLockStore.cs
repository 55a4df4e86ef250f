using Fs.Core.Meta;

namespace Fs.Core.Locks;

/// <summary>Keeps locks in a metadata engine, so every appliance sharing the volume sees the same locks.</summary>
public sealed class MetaLockStore(IMetaEngine meta) : ILockStore
{
    public ValueTask<T> UpdateLocksAsync<T>(ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct)
        => meta.UpdateLocksAsync(ino, update, ct);

    public ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct)
        => meta.ListLocksAsync(ct);
}
