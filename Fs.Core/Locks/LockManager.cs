using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fs.Core.Locks;

/// <summary>
/// The one lock manager of a volume: POSIX byte-range locks (fcntl, NLM), whole-file locks (flock) and WebDAV write locks,
/// kept in an <see cref="ILockStore"/> so every door and every appliance sharing the volume honours the same locks.
/// </summary>
/// <remarks>
/// The rules live in <see cref="LockTable"/>; this class adds waiting. A blocked request retries as soon as a lock on its
/// inode changes in this process (or <see cref="NotifyChanged"/> reports a change elsewhere), and at least every
/// <see cref="LockManagerOptions.PollInterval"/>, which is how releases on other appliances and WebDAV expiry are noticed.
/// Errors: a conflict without waiting is EAGAIN (the WebDAV door answers 423), a bad range or mode EINVAL, a cancelled or
/// shut-down wait EINTR, a POSIX wait that would deadlock inside this process EDEADLK, and an unknown or expired WebDAV
/// token ENOLCK ("no such lock", distinct from the ENOENT of a vanished file).
/// </remarks>
public sealed partial class LockManager : IAsyncDisposable
{
    private readonly ILockStore _store;
    private readonly LockManagerOptions _options;
    private readonly ILogger _logger;
    private readonly LockWaitGraph _waitGraph = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, InodeSignal> _signals = [];
    private readonly CancellationTokenSource _shutdown = new();

    public LockManager(ILockStore store, LockManagerOptions options, ILogger<LockManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.WebDavDefaultTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.WebDavMaxTimeout, TimeSpan.Zero);
        _store = store;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    private long Now => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- POSIX byte ranges ----

    /// <summary>F_GETLK: the first (lowest start) lock of another owner that would stop this one, or null when it would be granted.</summary>
    public async ValueTask<Result<LockRecord?>> TestPosixAsync(ulong ino, LockOwner owner, LockMode mode, long start, long end, CancellationToken ct = default)
    {
        var invalid = Validate(mode, start, end);
        if (invalid != Errno.OK)
            return invalid;
        var wanted = new LockRecord(LockKind.Posix, mode, owner, start, end);
        var now = Now;
        var conflicts = await _store.UpdateLocksAsync(ino, locks => (NoChange, LockTable.FindConflicts(locks, wanted, now)), ct).ConfigureAwait(false);
        return new Result<LockRecord?>(conflicts.Count > 0 ? conflicts[0] : null);
    }

    /// <summary>F_SETLK / F_SETLKW: locks [start, end) (end = <see cref="long.MaxValue"/> for to-end-of-file) for <paramref name="owner"/>.</summary>
    public ValueTask<Errno> SetPosixAsync(ulong ino, LockOwner owner, LockMode mode, long start, long end, bool wait, int pid, CancellationToken ct = default)
    {
        var invalid = Validate(mode, start, end);
        if (invalid != Errno.OK)
            return ValueTask.FromResult(invalid);
        var wanted = new LockRecord(LockKind.Posix, mode, owner, start, end, Pid: pid);
        return AcquireAsync(ino, owner, wait, _options.DetectDeadlocks, async (now, token) =>
        {
            var (changed, conflicts) = await _store.UpdateLocksAsync(ino, l =>
            {
                var (locks, found) = LockTable.SetPosix(l, wanted, now);
                return (locks, (Changed: locks is not null, Conflicts: found));
            }, token).ConfigureAwait(false);
            return new Attempt(conflicts.Count == 0, changed, [.. conflicts.Select(c => c.Owner).Distinct()]);
        }, ct);
    }

    /// <summary>F_UNLCK over [start, end); unlocking what is not locked succeeds.</summary>
    public async ValueTask<Errno> UnlockPosixAsync(ulong ino, LockOwner owner, long start, long end, CancellationToken ct = default)
    {
        var invalid = LockTable.CheckRange(start, end);
        if (invalid != Errno.OK)
            return invalid;
        var now = Now;
        var changed = await _store.UpdateLocksAsync(ino, l =>
        {
            var (locks, _) = LockTable.UnlockPosix(l, owner, start, end, now);
            return (locks, locks is not null);
        }, ct).ConfigureAwait(false);
        if (changed)
            NotifyChanged(ino);
        return Errno.OK;
    }

    /// <summary>Drops every POSIX lock of <paramref name="owner"/> on the inode, as close() does.</summary>
    public async ValueTask ReleaseOwnerAsync(ulong ino, LockOwner owner, CancellationToken ct = default)
    {
        var now = Now;
        var removed = await _store.UpdateLocksAsync(ino, l => LockTable.ReleasePosixOwner(l, owner, now), ct).ConfigureAwait(false);
        if (removed > 0)
            NotifyChanged(ino);
    }

    // ---- flock ----

    /// <summary>
    /// LOCK_SH / LOCK_EX, taking, upgrading or downgrading the owner's whole-file lock. A non-blocking conversion that
    /// conflicts keeps the lock held before; a blocking one gives it up while it waits, as on BSD and Linux.
    /// </summary>
    public ValueTask<Errno> FlockAsync(ulong ino, LockOwner owner, LockMode mode, bool wait, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(mode))
            return ValueTask.FromResult(Errno.EINVAL);
        return AcquireAsync(ino, owner, wait, detectDeadlock: false, async (now, token) =>
        {
            var (changed, result) = await _store.UpdateLocksAsync(ino, l =>
            {
                var (locks, errno) = LockTable.SetFlock(l, owner, mode, releaseOnConflict: wait, now);
                return (locks, (Changed: locks is not null, Errno: errno));
            }, token).ConfigureAwait(false);
            return new Attempt(result == Errno.OK, changed, []);
        }, ct);
    }

    /// <summary>LOCK_UN: drops the owner's whole-file lock, if any.</summary>
    public async ValueTask<Errno> UnflockAsync(ulong ino, LockOwner owner, CancellationToken ct = default)
    {
        var now = Now;
        var changed = await _store.UpdateLocksAsync(ino, l =>
        {
            var (locks, _) = LockTable.Unflock(l, owner, now);
            return (locks, locks is not null);
        }, ct).ConfigureAwait(false);
        if (changed)
            NotifyChanged(ino);
        return Errno.OK;
    }

    // ---- WebDAV ----

    /// <summary>
    /// LOCK: a new WebDAV write lock with a fresh opaquelocktoken. <paramref name="depth"/> is 0 or -1 (infinity); ancestors'
    /// depth-infinity locks are the door's to check. A null <paramref name="timeout"/> gets the default,
    /// <see cref="Timeout.InfiniteTimeSpan"/> asks for no expiry; the record returned carries what was granted.
    /// </summary>
    public async ValueTask<Result<LockRecord>> LockWebDavAsync(ulong ino, LockOwner owner, LockMode mode, int depth, TimeSpan? timeout, string? ownerXml, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(mode) || depth is not (0 or -1))
            return Errno.EINVAL;
        var now = Now;
        var wanted = new LockRecord(LockKind.WebDav, mode, owner, Depth: depth, Token: LockTable.TokenScheme + Guid.NewGuid().ToString("D"),
            ExpiresUnixMs: ExpiryOf(timeout, now), Info: ownerXml);
        return await _store.UpdateLocksAsync(ino, l => LockTable.LockWebDav(l, wanted, now), ct).ConfigureAwait(false);
    }

    /// <summary>LOCK refresh: restarts the timeout of the lock with <paramref name="token"/>; ENOLCK when it is not (or no longer) there.</summary>
    public async ValueTask<Result<LockRecord>> RefreshWebDavAsync(ulong ino, string token, TimeSpan? timeout, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var now = Now;
        var expires = ExpiryOf(timeout, now);
        return await _store.UpdateLocksAsync(ino, l => LockTable.RefreshWebDav(l, token, expires, now), ct).ConfigureAwait(false);
    }

    /// <summary>UNLOCK by token; ENOLCK when the inode has no live lock with it.</summary>
    public async ValueTask<Errno> UnlockWebDavAsync(ulong ino, string token, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var now = Now;
        var result = await _store.UpdateLocksAsync(ino, l => LockTable.UnlockWebDav(l, token, now), ct).ConfigureAwait(false);
        if (result == Errno.OK)
            NotifyChanged(ino);
        return result;
    }

    /// <summary>The live locks of an inode, of every kind (lockdiscovery shows the WebDAV ones).</summary>
    public async ValueTask<IReadOnlyList<LockRecord>> GetLocksAsync(ulong ino, CancellationToken ct = default)
    {
        var now = Now;
        return await _store.UpdateLocksAsync(ino, l => (NoChange, (IReadOnlyList<LockRecord>)[.. LockTable.Live(l, now)]), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Every live lock of the volume with its inode, read in one go (without the write transaction
    /// <see cref="GetLocksAsync"/> takes): for a door that needs the locks of many inodes at once, such as a WebDAV listing.
    /// </summary>
    public async ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLiveAsync(CancellationToken ct = default)
    {
        var all = await _store.ListLocksAsync(ct).ConfigureAwait(false);
        var now = Now;
        return [.. all.Where(e => LockTable.IsLive(e.Lock, now))];
    }

    /// <summary>Whether a WebDAV client that submitted <paramref name="tokens"/> may change the inode, as far as locks on the inode itself go.</summary>
    public async ValueTask<bool> CheckWebDavWriteAsync(ulong ino, IReadOnlyCollection<string> tokens, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var now = Now;
        return await _store.UpdateLocksAsync(ino, l => (NoChange, LockTable.MayWriteWebDav(l, tokens, now)), ct).ConfigureAwait(false);
    }

    // ---- clean-up and wake-ups ----

    /// <summary>
    /// Drops every lock, of any kind and on any inode, whose owner matches: NLM FREE_ALL and SM_NOTIFY for a rebooted
    /// client, or the locks of a dead session. Returns how many were dropped.
    /// </summary>
    public async ValueTask<int> ReleaseWhereAsync(Func<LockOwner, bool> match, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(match);
        var all = await _store.ListLocksAsync(ct).ConfigureAwait(false);
        var now = Now;
        var total = 0;
        foreach (var ino in all.Where(e => match(e.Lock.Owner)).Select(e => e.Ino).Distinct())
        {
            var removed = await _store.UpdateLocksAsync(ino, l => LockTable.RemoveWhere(l, r => match(r.Owner), now), ct).ConfigureAwait(false);
            if (removed > 0)
                NotifyChanged(ino);
            total += removed;
        }
        if (total > 0)
            LogReleased(_logger, total);
        return total;
    }

    /// <summary>Wakes the requests waiting on <paramref name="ino"/>: its locks changed here or on another appliance.</summary>
    public void NotifyChanged(ulong ino)
    {
        TaskCompletionSource? fired = null;
        lock (_gate)
        {
            if (_signals.TryGetValue(ino, out var signal))
            {
                fired = signal.Changed;
                signal.Changed = NewSignal();
            }
        }
        _waitGraph.Clear(ino);
        fired?.TrySetResult();
    }

    /// <summary>Wakes every request waiting on any inode: locks went on inodes not named one by one (a dead session's, cleaned here).</summary>
    public void NotifyAllChanged()
    {
        ulong[] waited;
        lock (_gate)
            waited = [.. _signals.Keys];
        foreach (var ino in waited)
            NotifyChanged(ino);
    }

    /// <summary>Ends every wait in progress with EINTR; the locks in the store stay.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_shutdown.IsCancellationRequested)
        {
            _shutdown.Cancel();
            _shutdown.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private static readonly IReadOnlyList<LockRecord>? NoChange = null;

    private static Errno Validate(LockMode mode, long start, long end)
        => Enum.IsDefined(mode) ? LockTable.CheckRange(start, end) : Errno.EINVAL;

    private long ExpiryOf(TimeSpan? requested, long now)
    {
        var timeout = requested is { } r && (r > TimeSpan.Zero || r == Timeout.InfiniteTimeSpan) ? r : _options.WebDavDefaultTimeout;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            if (_options.WebDavAllowInfiniteTimeout)
                return 0;
            timeout = _options.WebDavMaxTimeout;
        }
        if (timeout > _options.WebDavMaxTimeout)
            timeout = _options.WebDavMaxTimeout;
        var ms = (long)Math.Ceiling(timeout.TotalMilliseconds);
        return ms >= long.MaxValue - now ? long.MaxValue : now + ms;
    }

    /// <summary>Tries once, then, when asked to wait, again after every change on the inode and every poll interval.</summary>
    private async ValueTask<Errno> AcquireAsync(ulong ino, LockOwner owner, bool wait, bool detectDeadlock,
        Func<long, CancellationToken, ValueTask<Attempt>> attempt, CancellationToken ct)
    {
        if (!wait)
        {
            try
            {
                var once = await attempt(Now, ct).ConfigureAwait(false);
                if (once.Changed)
                    NotifyChanged(ino);
                return once.Granted ? Errno.OK : Errno.EAGAIN;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return Errno.EINTR;
            }
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _shutdown.Token);
        var token = linked.Token;
        var signal = Subscribe(ino);
        LockWaitGraph.LockWait? waitEdge = null;
        try
        {
            while (true)
            {
                // Taken before the attempt, so a release between the attempt and the wait is not missed.
                var changed = CurrentSignal(signal);
                var tried = await attempt(Now, token).ConfigureAwait(false);
                if (tried.Changed)
                    NotifyChanged(ino);
                if (tried.Granted)
                    return Errno.OK;
                if (detectDeadlock)
                {
                    waitEdge ??= _waitGraph.Enter(ino, owner);
                    if (!_waitGraph.TryBlock(waitEdge, tried.Blockers))
                    {
                        LogDeadlock(_logger, owner, ino);
                        return Errno.EDEADLK;
                    }
                }
                await WaitForChangeAsync(changed, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return Errno.EINTR;
        }
        finally
        {
            if (waitEdge is not null)
                _waitGraph.Leave(waitEdge);
            Unsubscribe(ino, signal);
        }
    }

    private async Task WaitForChangeAsync(Task changed, CancellationToken ct)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(_options.PollInterval, _options.Time, poll.Token);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        // Stops the poll timer when the signal won.
        await poll.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
    }

    private InodeSignal Subscribe(ulong ino)
    {
        lock (_gate)
        {
            if (!_signals.TryGetValue(ino, out var signal))
                _signals[ino] = signal = new InodeSignal();
            signal.Waiters++;
            return signal;
        }
    }

    private Task CurrentSignal(InodeSignal signal)
    {
        lock (_gate)
            return signal.Changed.Task;
    }

    private void Unsubscribe(ulong ino, InodeSignal signal)
    {
        lock (_gate)
        {
            if (--signal.Waiters == 0)
                _signals.Remove(ino);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The requests waiting on one inode and the signal that wakes them, replaced each time it fires.</summary>
    private sealed class InodeSignal
    {
        public int Waiters;

        public TaskCompletionSource Changed = NewSignal();
    }

    /// <summary>One try at a lock: granted or not, whether the stored list changed, and who was in the way.</summary>
    private readonly record struct Attempt(bool Granted, bool Changed, IReadOnlyCollection<LockOwner> Blockers);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Lock request of {Owner} on inode {Ino} would deadlock: EDEADLK")]
    private static partial void LogDeadlock(ILogger logger, LockOwner owner, ulong ino);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} locks of departed owners")]
    private static partial void LogReleased(ILogger logger, int count);
}
