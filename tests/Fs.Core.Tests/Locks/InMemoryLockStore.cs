using Fs.Core.Locks;

namespace Fs.Core.Tests.Locks;

/// <summary>
/// A lock store in memory that behaves like an engine transaction: updates of the store are serialized, each update function
/// runs twice on the same input (the first result is thrown away, as an aborted optimistic transaction's would be), and
/// what is stored is a private copy.
/// </summary>
public sealed class InMemoryLockStore : ILockStore
{
    private readonly SemaphoreSlim _transaction = new(1, 1);
    private readonly Dictionary<ulong, LockRecord[]> _locks = [];

    /// <summary>How many updates wrote a new list.</summary>
    public int Writes { get; private set; }

    public async ValueTask<T> UpdateLocksAsync<T>(ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct)
    {
        await _transaction.WaitAsync(ct);
        try
        {
            var current = _locks.GetValueOrDefault(ino) ?? [];
            _ = update(current);
            var (locks, result) = update(current);
            if (locks is not null)
            {
                if (locks.Count == 0)
                    _locks.Remove(ino);
                else
                    _locks[ino] = [.. locks];
                Writes++;
            }
            return result;
        }
        finally
        {
            _transaction.Release();
        }
    }

    public async ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct)
    {
        await _transaction.WaitAsync(ct);
        try
        {
            return [.. _locks.SelectMany(e => e.Value.Select(l => (e.Key, l)))];
        }
        finally
        {
            _transaction.Release();
        }
    }

    /// <summary>The stored list of an inode as it is, expired locks included.</summary>
    public async ValueTask<IReadOnlyList<LockRecord>> RawAsync(ulong ino)
        => await UpdateLocksAsync(ino, l => ((IReadOnlyList<LockRecord>?)null, (IReadOnlyList<LockRecord>)[.. l]), CancellationToken.None);
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
