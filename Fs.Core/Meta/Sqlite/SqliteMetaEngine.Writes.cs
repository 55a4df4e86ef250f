using System.Collections.Concurrent;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Meta.Sqlite;

// Write operations and their group commit.
public sealed partial class SqliteMetaEngine
{
    /// <summary>Most operations one commit carries.</summary>
    private const int MaxGroup = 64;

    /// <summary>Groups one caller commits for others before it hands the rest to a pool thread and goes back to its own work.</summary>
    private const int MaxGroupsPerLeader = 4;

    private readonly ConcurrentQueue<PendingWrite> _pendingWrites = new();
    /// <summary>The group being committed; only its leader (the writer lock's holder) touches it.</summary>
    private readonly List<PendingWrite> _group = new(MaxGroup);
    private long _commits;
    private long _writes;

    /// <summary>Write operations run so far, and the commits that carried them: fewer commits than writes is group commit at work.</summary>
    internal (long Writes, long Commits) WriteCounts => (Interlocked.Read(ref _writes), Interlocked.Read(ref _commits));

    /// <summary>
    /// Runs <paramref name="operation"/> as one atomic write and answers once it is committed. Writes that queue up while
    /// another commit is in progress share the next one: each runs inside a savepoint of a single BEGIN IMMEDIATE
    /// transaction, so each still applies whole or not at all (an errno result rolls back only its own savepoint), while
    /// the pages they share (a directory's rows, the counters, neighbouring inodes) go to the log once per commit instead
    /// of once per operation. Nobody is answered before the commit that holds their change, so readers and callers see
    /// the same order as with one transaction each. Should anything but an errno go wrong in a group (an exception from
    /// an operation, a failed commit), the group is rolled back and every operation in it runs again alone, each in a
    /// transaction of its own, so one operation's failure is never another's. Ids the operations will take are reserved
    /// beforehand in their own durable transaction, so a rolled-back operation can never make the database forget
    /// handed-out ids. A cancelled caller's operation is dropped if it has not started; once started it completes.
    /// (Internal rather than private for the tests, which queue operations of their own.)
    /// </summary>
    internal ValueTask<Result<T>> WriteAsync<T>(
        Func<SqliteMetaConnection, Result<T>> operation, CancellationToken ct, bool durable = false, int inodes = 0, int cookies = 0)
    {
        if (ct.IsCancellationRequested)
            return ValueTask.FromCanceled<Result<T>>(ct);
        if (_pendingWrites.IsEmpty && _writeLock.Wait(0))
        {
            // Nobody waiting: the write runs at once, on this thread, in a transaction of its own.
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                Interlocked.Increment(ref _writes);
                return new ValueTask<Result<T>>(RunSolo(operation, durable, inodes, cookies));
            }
            catch (Exception e)
            {
                return ValueTask.FromException<Result<T>>(e);
            }
            finally
            {
                ReleaseWriteLock();
            }
        }
        var write = new PendingWrite<T>(operation, durable, inodes, cookies, ct);
        _pendingWrites.Enqueue(write);
        // Whoever holds the lock commits what is queued, this write included, before letting go (see LeadWrites).
        if (_writeLock.Wait(0))
            LeadWrites();
        return new ValueTask<Result<T>>(write.Task);
    }

    /// <summary>
    /// Lets go of the writer lock taken for work of one's own (id reservations, loading, disposing) and commits what
    /// queued up meanwhile: a write that found the lock taken relies on its holder to run it.
    /// </summary>
    private void ReleaseWriteLock()
    {
        _writeLock.Release();
        if (!_pendingWrites.IsEmpty && _writeLock.Wait(0))
            LeadWrites();
    }

    /// <summary>Commits queued writes group by group; called holding the writer lock, which it releases (or hands on).</summary>
    private void LeadWrites()
    {
        var groups = 0;
        var group = _group;
        while (true)
        {
            while (group.Count < MaxGroup && _pendingWrites.TryDequeue(out var write))
                if (write.TryStart())
                    group.Add(write);
            if (group.Count > 0)
            {
                RunGroup(group);
                group.Clear();
                groups++;
            }
            if (_pendingWrites.IsEmpty)
            {
                _writeLock.Release();
                // A write queued just before the release may have found the lock still held: it is this leader's to run,
                // unless someone else has taken the lock since (then they run it).
                if (_pendingWrites.IsEmpty || !_writeLock.Wait(0))
                    return;
            }
            else if (groups >= MaxGroupsPerLeader)
            {
                // The lock goes with the work item: the pool thread carries on leading.
                ThreadPool.UnsafeQueueUserWorkItem(static engine => engine.LeadWrites(), this, preferLocal: false);
                return;
            }
        }
    }

    private void RunGroup(List<PendingWrite> group)
    {
        Interlocked.Add(ref _writes, group.Count);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var inodes = 0;
            var cookies = 0;
            foreach (var write in group)
            {
                inodes += write.Inodes;
                cookies += write.Cookies;
            }
            if (inodes > 0)
                EnsureIds(_inodeIds, inodes);
            if (cookies > 0)
                EnsureIds(_cookies, cookies);
        }
        catch (Exception e)
        {
            foreach (var write in group)
                write.Fail(e);
            return;
        }
        if (group.Count == 1 || !TryCommitTogether(group))
        {
            foreach (var write in group)
                RunAlone(write);
        }
    }

    /// <summary>Runs the group in one transaction, a savepoint each; false (everything rolled back) if anything but an errno went wrong.</summary>
    private bool TryCommitTogether(List<PendingWrite> group)
    {
        var w = _writer;
        var durable = group.Exists(write => write.Durable);
        try
        {
            // In WAL mode a FULL commit syncs the log, which carries every earlier NORMAL commit with it.
            if (durable)
                w.Execute("PRAGMA synchronous = FULL");
            w.BeginWrite();
            try
            {
                foreach (var write in group)
                {
                    w.Execute("SAVEPOINT op");
                    var applied = write.Stage(w);
                    // An error that ends the whole transaction (a full disk, an I/O error) may have been caught and turned
                    // into an outcome by the operation; the writes after it must not run outside a transaction.
                    if (!w.InTransaction)
                        throw new InvalidOperationException("the transaction ended inside an operation");
                    if (!applied)
                        w.Execute("ROLLBACK TO op");
                    w.Execute("RELEASE op");
                }
                w.Commit();
            }
            catch
            {
                w.Rollback();
                throw;
            }
            finally
            {
                if (durable)
                    w.Execute("PRAGMA synchronous = NORMAL");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogGroupRetried(_logger, group.Count, e.Message);
            return false;
        }
        Interlocked.Increment(ref _commits);
        foreach (var write in group)
            write.Complete();
        return true;
    }

    private void RunAlone(PendingWrite write)
    {
        try
        {
            write.RunAlone(this);
        }
        catch (Exception e)
        {
            write.Fail(e);
        }
    }

    /// <summary>
    /// Runs one write in a transaction of its own, under the writer lock, after reserving the ids it needs (again, for a
    /// write whose group was rolled back: the ids it took there are gone).
    /// </summary>
    private Result<T> RunSolo<T>(Func<SqliteMetaConnection, Result<T>> operation, bool durable, int inodes, int cookies)
    {
        if (inodes > 0)
            EnsureIds(_inodeIds, inodes);
        if (cookies > 0)
            EnsureIds(_cookies, cookies);
        var result = RunWrite(operation, durable);
        Interlocked.Increment(ref _commits);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "A group of {Count} metadata writes failed together ({Reason}); each runs again in a transaction of its own")]
    private static partial void LogGroupRetried(ILogger logger, int count, string reason);

    /// <summary>A write waiting for its commit: the operation, what it needs reserved, and where its caller waits.</summary>
    private abstract class PendingWrite
    {
        private const int Queued = 0;
        private const int Started = 1;
        private const int Dropped = 2;
        private int _state;

        protected PendingWrite(bool durable, int inodes, int cookies)
        {
            Durable = durable;
            Inodes = inodes;
            Cookies = cookies;
        }

        public bool Durable { get; }

        public int Inodes { get; }

        public int Cookies { get; }

        /// <summary>Claims the write for running; false if its caller has given up on it already.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;

        /// <summary>Gives up on the write if it has not started; its caller then gets a cancellation.</summary>
        protected bool TryDrop() => Interlocked.CompareExchange(ref _state, Dropped, Queued) == Queued;

        /// <summary>Runs the operation inside the group's transaction and keeps its outcome; true if it is to be kept.</summary>
        public abstract bool Stage(SqliteMetaConnection connection);

        /// <summary>Hands the kept outcome to the caller, once the group's commit has succeeded.</summary>
        public abstract void Complete();

        /// <summary>Runs the operation in a transaction of its own and hands its outcome to the caller.</summary>
        public abstract void RunAlone(SqliteMetaEngine engine);

        public abstract void Fail(Exception error);
    }

    private sealed class PendingWrite<T> : PendingWrite
    {
        private readonly Func<SqliteMetaConnection, Result<T>> _operation;
        private readonly TaskCompletionSource<Result<T>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _cancellation;
        private Result<T> _staged;

        public PendingWrite(Func<SqliteMetaConnection, Result<T>> operation, bool durable, int inodes, int cookies, CancellationToken ct)
            : base(durable, inodes, cookies)
        {
            _operation = operation;
            if (ct.CanBeCanceled)
            {
                _cancellation = ct.UnsafeRegister(static (state, token) =>
                {
                    var write = (PendingWrite<T>)state!;
                    if (write.TryDrop())
                        write._done.TrySetCanceled(token);
                }, this);
            }
        }

        public Task<Result<T>> Task => _done.Task;

        public override bool Stage(SqliteMetaConnection connection)
        {
            try
            {
                _staged = _operation(connection);
            }
            catch (FsException e)
            {
                _staged = e.Errno;
            }
            return _staged.Ok;
        }

        public override void Complete()
        {
            _cancellation.Dispose();
            _done.TrySetResult(_staged);
        }

        public override void RunAlone(SqliteMetaEngine engine)
        {
            var result = engine.RunSolo(_operation, Durable, Inodes, Cookies);
            _cancellation.Dispose();
            _done.TrySetResult(result);
        }

        public override void Fail(Exception error)
        {
            _cancellation.Dispose();
            _done.TrySetException(error);
        }
    }
}
