using Fs.Core.Meta.Sqlite;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

/// <summary>
/// Writes that queue up behind a commit share the next one, yet each keeps its own outcome. The tests hold the writer
/// with an operation that waits on a gate, queue writes behind it, then open the gate.
/// </summary>
public class SqliteGroupCommitTests : SqliteEngineTest
{
    private readonly ManualResetEventSlim _gate = new();

    public override async Task DisposeAsync()
    {
        _gate.Set();
        await base.DisposeAsync();
        _gate.Dispose();
    }

    /// <summary>Starts a write that holds the writer until the gate opens; returns once it is running.</summary>
    private async Task<Task> HoldWriterAsync()
    {
        var started = Engine.WriteCounts.Writes;
        var holder = Task.Run(async () => (await Engine.WriteAsync(_ =>
        {
            _gate.Wait();
            return new Result<bool>(true);
        }, None)).Value);
        while (Engine.WriteCounts.Writes == started)
            await Task.Delay(1);
        return holder;
    }

    private ValueTask<Result<long>> ReadCounterAsync(string name) =>
        Engine.WriteAsync(c => new Result<long>(c.Long("SELECT value FROM counters WHERE name = ?1", name) ?? -1), None);

    private ValueTask<Result<bool>> BumpCounterAsync(string name, Errno outcome, CancellationToken ct = default) =>
        Engine.WriteAsync(c =>
        {
            c.Execute("UPDATE counters SET value = value + 1 WHERE name = ?1", name);
            return outcome == Errno.OK ? new Result<bool>(true) : new Result<bool>(outcome);
        }, ct);

    [Fact]
    public async Task Queued_writes_share_one_commit_and_each_keeps_its_own_outcome()
    {
        var dir = await Mkdir(RootIno, "d");
        await CreateFile(dir.Ino, "taken");
        var epoch = (await ReadCounterAsync("sync_epoch")).Value;
        var (writes, commits) = Engine.WriteCounts;

        var holder = await HoldWriterAsync();
        var creates = Enumerable.Range(0, 10)
            .Select(i => Engine.MknodAsync(Alice, dir.Ino, $"f{i}", FileType.Regular, 0x1A4, 0, null, None).AsTask()).ToList();
        var taken = Engine.MknodAsync(Alice, dir.Ino, "taken", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        var first = Engine.MknodAsync(Alice, dir.Ino, "twice", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        var second = Engine.MknodAsync(Alice, dir.Ino, "twice", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        // An errno rolls back what the operation did before it failed, and only that.
        var refused = BumpCounterAsync("sync_epoch", Errno.EPERM).AsTask();
        var kept = BumpCounterAsync("sync_epoch", Errno.OK).AsTask();
        Assert.All(creates, c => Assert.False(c.IsCompleted));
        _gate.Set();
        await holder;

        var created = await Task.WhenAll(creates);
        Assert.All(created, c => Assert.True(c.Ok));
        Assert.Equal(10, created.Select(c => c.Value.Ino).Distinct().Count());
        Assert.Equal(Errno.EEXIST, (await taken).Error);
        Assert.True((await first).Ok);
        Assert.Equal(Errno.EEXIST, (await second).Error);
        Assert.Equal(Errno.EPERM, (await refused).Error);
        Assert.True((await kept).Ok);
        // The holder's commit, then one for the fifteen writes queued behind it.
        Assert.Equal((writes + 16, commits + 2), Engine.WriteCounts);

        Assert.Equal(epoch + 1, (await ReadCounterAsync("sync_epoch")).Value);
        Assert.Equal(12, (await Names(dir.Ino)).Count);
        Assert.Empty(await Engine.CheckAsync(false, None));
        await ReopenAsync();
        Assert.Equal(12, (await Names(dir.Ino)).Count);
    }

    [Fact]
    public async Task An_operation_that_throws_fails_alone_and_the_rest_of_its_group_commits()
    {
        var dir = await Mkdir(RootIno, "d");
        var epoch = (await ReadCounterAsync("sync_epoch")).Value;
        var (_, commits) = Engine.WriteCounts;

        var holder = await HoldWriterAsync();
        var before = Engine.MknodAsync(Alice, dir.Ino, "before", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        var broken = Engine.WriteAsync<bool>(c =>
        {
            c.Execute("UPDATE counters SET value = value + 1 WHERE name = ?1", "sync_epoch");
            throw new InvalidOperationException("broken operation");
        }, None).AsTask();
        var after = Engine.MknodAsync(Alice, dir.Ino, "after", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        _gate.Set();
        await holder;

        Assert.True((await before).Ok);
        Assert.Equal("broken operation", (await Assert.ThrowsAsync<InvalidOperationException>(() => broken)).Message);
        Assert.True((await after).Ok);
        // The group was rolled back and each write ran again on its own: the two creates each committed alone.
        Assert.Equal(commits + 3, Engine.WriteCounts.Commits);
        Assert.Equal(epoch, (await ReadCounterAsync("sync_epoch")).Value);
        Assert.Equal(["after", "before"], (await Names(dir.Ino)).Order(StringComparer.Ordinal));
        Assert.Empty(await Engine.CheckAsync(false, None));
    }

    [Fact]
    public async Task A_queued_write_whose_caller_gives_up_is_dropped_before_it_runs()
    {
        var epoch = (await ReadCounterAsync("sync_epoch")).Value;
        using var cancel = new CancellationTokenSource();

        var holder = await HoldWriterAsync();
        var dropped = BumpCounterAsync("sync_epoch", Errno.OK, cancel.Token).AsTask();
        var kept = BumpCounterAsync("sync_epoch", Errno.OK).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dropped);
        _gate.Set();
        await holder;

        Assert.True((await kept).Ok);
        Assert.Equal(epoch + 1, (await ReadCounterAsync("sync_epoch")).Value);
    }

    [Fact]
    public async Task A_write_queued_while_a_load_holds_the_writer_runs_when_the_load_lets_go()
    {
        await using var empty = new SqliteMetaEngine(Path.Combine(Dir, "empty.db"));
        var records = new TaskCompletionSource();
        var load = empty.LoadAsync(Records(records.Task), None).AsTask();
        var queued = empty.WriteAsync(c => new Result<long>(c.Long("SELECT count(*) FROM inodes") ?? -1), None).AsTask();
        await Task.Delay(50);
        Assert.False(queued.IsCompleted);
        records.SetException(new InvalidDataException("the dump ends early"));
        await Assert.ThrowsAsync<InvalidDataException>(() => load);
        Assert.Equal(0, (await queued.WaitAsync(TimeSpan.FromSeconds(10))).Value);

        static async IAsyncEnumerable<Fs.Core.Meta.Dump.DumpRecord> Records(Task gate)
        {
            await gate;
            yield break;
        }
    }

    [Fact]
    public async Task Writes_after_dispose_fail_at_once()
    {
        await Engine.DisposeAsync();
        var late = Engine.MknodAsync(Alice, RootIno, "late", FileType.Regular, 0x1A4, 0, null, None).AsTask();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => late.WaitAsync(TimeSpan.FromSeconds(10)));
        await ReopenAsync();
        Assert.Equal(Errno.ENOENT, await Lookup(RootIno, "late"));
    }

    [Fact]
    public async Task Many_concurrent_writers_lose_nothing()
    {
        var dir = await Mkdir(RootIno, "d");
        var (writes, commits) = Engine.WriteCounts;
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
                Assert.True((await Engine.MknodAsync(Alice, dir.Ino, $"w{w}-{i}", FileType.Regular, 0x1A4, 0, null, None)).Ok);
        })).ToArray();
        await Task.WhenAll(writers);
        var (writesAfter, commitsAfter) = Engine.WriteCounts;
        Assert.Equal(writes + 1600, writesAfter);
        Assert.InRange(commitsAfter - commits, 1, 1600);
        await ReopenAsync();
        Assert.Equal(1600, (await Names(dir.Ino)).Count);
        // The root, the directory and the files.
        Assert.Equal(1602, (await Engine.GetUsageAsync(None)).UsedInodes);
        Assert.Empty(await Engine.CheckAsync(false, None));
    }
}
