using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// What the lock manager of every volume must do: POSIX byte-range locks between owners, the GETLK report, flock,
/// WebDAV write locks against POSIX write locks in both directions, and blocking SETLKW.
/// </summary>
public abstract class LockConformance : VolumeTest
{
    private const long ToEof = long.MaxValue;

    /// <summary>Long enough that a blocked request still waiting after it is not a scheduling accident.</summary>
    private static readonly TimeSpan StillBlocked = TimeSpan.FromMilliseconds(300);

    /// <summary>Generous bound for a grant that should follow an unlock at once, on a loaded machine.</summary>
    private static readonly TimeSpan GrantDeadline = TimeSpan.FromSeconds(15);

    private LockOwner Owner(LockDoor door, string client, ulong id) => new(Fs.Session, door, client, id);

    private LockOwner FuseA => Owner(LockDoor.Fuse, "host-a", 1);

    private LockOwner NfsB => Owner(LockDoor.Nfs, "host-b", 7);

    private LockOwner WebDavC => Owner(LockDoor.WebDav, "client-c", 0);

    private async Task<ulong> NewFileAsync(string name)
    {
        var (attr, handle) = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, name, 0b110_100_100, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive)).Value;
        Assert.Equal(Errno.OK, await Fs.ReleaseAsync(handle));
        return attr.Ino;
    }

    private static void Expect(Errno expected, Errno actual, string what) =>
        Assert.True(actual == expected, $"{what}: expected {expected}, got {actual}");

    // ---- POSIX byte-range locks ----

    [Fact]
    public async Task Posix_write_locks_of_two_owners_conflict_only_where_they_overlap()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 100, false, 11, default), "A locks [0,100)");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 50, 150, false, 22, default), "B write-locks overlapping");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Shared, 99, 100, false, 22, default), "B read-locks the last byte");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 100, 200, false, 22, default), "B locks the adjacent range");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Shared, 150, ToEof, false, 11, default), "A read-locks into B's range");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 200, ToEof, false, 11, default), "A locks from 200 to EOF");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Shared, 1L << 40, (1L << 40) + 1, false, 22, default), "B locks far past EOF");
    }

    [Fact]
    public async Task Posix_read_locks_are_shared_and_exclude_writers()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Shared, 0, ToEof, false, 11, default), "A read-locks");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Shared, 10, 20, false, 22, default), "B read-locks");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 0, 5, false, 22, default), "B write-locks under A's read lock");
        // An owner's own locks never conflict with each other: A upgrades where only it holds a read lock.
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 100, 200, false, 11, default), "A upgrades its own range");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 30, false, 11, default), "A upgrades over B's read lock");
    }

    [Fact]
    public async Task Posix_unlock_of_the_middle_splits_a_lock()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 100, false, 11, default), "A locks [0,100)");
        Expect(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, FuseA, 40, 60, default), "A unlocks [40,60)");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 45, 55, false, 22, default), "B locks inside the gap");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 10, 20, false, 22, default), "B locks the left remainder");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 90, 95, false, 22, default), "B locks the right remainder");
        Expect(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, FuseA, 0, ToEof, default), "A unlocks everything");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 0, 40, false, 22, default), "B locks what A held");
    }

    [Fact]
    public async Task Posix_test_reports_the_conflicting_lock()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 100, 200, false, 4321, default), "A locks [100,200)");

        var conflict = await Fs.Locks.TestPosixAsync(ino, NfsB, LockMode.Shared, 150, 160, default);
        Assert.True(conflict.Ok, $"GETLK: {conflict}");
        var holder = conflict.Value;
        Assert.NotNull(holder);
        Assert.Equal(LockKind.Posix, holder.Kind);
        Assert.Equal(LockMode.Exclusive, holder.Mode);
        Assert.Equal(FuseA, holder.Owner);
        Assert.Equal((100L, 200L), (holder.Start, holder.End));
        Assert.Equal(4321, holder.Pid);

        var free = await Fs.Locks.TestPosixAsync(ino, NfsB, LockMode.Exclusive, 200, ToEof, default);
        Assert.True(free.Ok, $"GETLK: {free}");
        Assert.Null(free.Value);
        var own = await Fs.Locks.TestPosixAsync(ino, FuseA, LockMode.Exclusive, 0, ToEof, default);
        Assert.True(own.Ok, $"GETLK: {own}");
        Assert.Null(own.Value);
    }

    [Fact]
    public async Task Posix_locks_on_different_files_are_independent()
    {
        var first = await NewFileAsync("a");
        var second = await NewFileAsync("b");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(first, FuseA, LockMode.Exclusive, 0, ToEof, false, 11, default), "A locks a");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(second, NfsB, LockMode.Exclusive, 0, ToEof, false, 22, default), "B locks b");
    }

    [Fact]
    public async Task Posix_blocking_lock_is_granted_when_the_holder_unlocks()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, ToEof, false, 11, default), "A locks");

        var waiting = Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 10, 20, true, 22, default).AsTask();
        await Task.Delay(StillBlocked);
        Assert.False(waiting.IsCompleted, "B's SETLKW must wait while A holds the range");

        Expect(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, FuseA, 0, ToEof, default), "A unlocks");
        Expect(Errno.OK, await waiting.WaitAsync(GrantDeadline), "B's SETLKW granted");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Shared, 15, 16, false, 11, default), "B now holds the range");
    }

    [Fact]
    public async Task Posix_blocking_lock_cancelled_while_waiting_is_EINTR()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, ToEof, false, 11, default), "A locks");
        using var cancel = new CancellationTokenSource();
        var waiting = Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 0, 10, true, 22, cancel.Token).AsTask();
        await Task.Delay(StillBlocked);
        Assert.False(waiting.IsCompleted, "B's SETLKW must wait while A holds the range");
        await cancel.CancelAsync();
        Expect(Errno.EINTR, await waiting.WaitAsync(GrantDeadline), "cancelled SETLKW");

        // The abandoned wait must not have left a lock behind once A lets go.
        Expect(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, FuseA, 0, ToEof, default), "A unlocks");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, Owner(LockDoor.Fuse, "host-e", 3), LockMode.Exclusive, 0, 10, false, 33, default), "a third owner locks");
    }

    // ---- flock ----

    [Fact]
    public async Task Flock_exclusive_excludes_everyone_and_shared_admits_readers()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.FlockAsync(ino, FuseA, LockMode.Shared, false, default), "A flock shared");
        Expect(Errno.OK, await Fs.Locks.FlockAsync(ino, NfsB, LockMode.Shared, false, default), "B flock shared");
        Expect(Errno.EAGAIN, await Fs.Locks.FlockAsync(ino, NfsB, LockMode.Exclusive, false, default), "B upgrades while A shares");
        Expect(Errno.OK, await Fs.Locks.UnflockAsync(ino, FuseA, default), "A unlocks");
        Expect(Errno.OK, await Fs.Locks.FlockAsync(ino, NfsB, LockMode.Exclusive, false, default), "B upgrades alone");
        Expect(Errno.EAGAIN, await Fs.Locks.FlockAsync(ino, FuseA, LockMode.Shared, false, default), "A shared under B's exclusive");
        Expect(Errno.EAGAIN, await Fs.Locks.FlockAsync(ino, FuseA, LockMode.Exclusive, false, default), "A exclusive under B's exclusive");
    }

    [Fact]
    public async Task Flock_blocking_request_is_granted_on_unlock()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.FlockAsync(ino, FuseA, LockMode.Exclusive, false, default), "A flock exclusive");
        var waiting = Fs.Locks.FlockAsync(ino, NfsB, LockMode.Exclusive, true, default).AsTask();
        await Task.Delay(StillBlocked);
        Assert.False(waiting.IsCompleted, "B's blocking flock must wait");
        Expect(Errno.OK, await Fs.Locks.UnflockAsync(ino, FuseA, default), "A unlocks");
        Expect(Errno.OK, await waiting.WaitAsync(GrantDeadline), "B's flock granted");
    }

    [Fact]
    public async Task Flock_and_posix_locks_do_not_see_each_other()
    {
        // Linux keeps flock and fcntl locks apart (local file systems): holding one never blocks the other.
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.FlockAsync(ino, FuseA, LockMode.Exclusive, false, default), "A flock exclusive");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 0, ToEof, false, 22, default), "B fcntl write lock");
    }

    // ---- WebDAV against POSIX ----

    [Fact]
    public async Task WebDav_exclusive_lock_blocks_posix_write_locks_until_unlocked()
    {
        var ino = await NewFileAsync("f");
        var dav = await Fs.Locks.LockWebDavAsync(ino, WebDavC, LockMode.Exclusive, 0, TimeSpan.FromMinutes(5), "<D:href>mailto:c@example.com</D:href>", default);
        Assert.True(dav.Ok, $"WebDAV LOCK: {dav}");
        Assert.Equal(LockKind.WebDav, dav.Value.Kind);
        Assert.Equal(LockMode.Exclusive, dav.Value.Mode);
        Assert.False(string.IsNullOrEmpty(dav.Value.Token), "a WebDAV lock has a token");

        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 10, false, 11, default), "FUSE write lock under a WebDAV lock");
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 1000, ToEof, false, 22, default), "NLM write lock under a WebDAV lock");
        var report = await Fs.Locks.TestPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 10, default);
        Assert.True(report.Ok, $"GETLK: {report}");
        Assert.NotNull(report.Value);

        var second = await Fs.Locks.LockWebDavAsync(ino, Owner(LockDoor.WebDav, "client-d", 0), LockMode.Exclusive, 0, null, null, default);
        Assert.False(second.Ok, "a second exclusive WebDAV lock must be refused");
        Assert.Equal(Errno.EAGAIN, second.Error);

        Expect(Errno.OK, await Fs.Locks.UnlockWebDavAsync(ino, dav.Value.Token!, default), "WebDAV UNLOCK");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 10, false, 11, default), "FUSE write lock after UNLOCK");
    }

    [Fact]
    public async Task Posix_write_lock_blocks_a_WebDav_exclusive_lock_until_released()
    {
        var ino = await NewFileAsync("f");
        Expect(Errno.OK, await Fs.Locks.SetPosixAsync(ino, NfsB, LockMode.Exclusive, 100, 200, false, 22, default), "NLM write lock");

        var refused = await Fs.Locks.LockWebDavAsync(ino, WebDavC, LockMode.Exclusive, 0, TimeSpan.FromMinutes(1), null, default);
        Assert.False(refused.Ok, "WebDAV LOCK over a POSIX write lock must be refused");
        Assert.Equal(Errno.EAGAIN, refused.Error);

        Expect(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, NfsB, 0, ToEof, default), "NLM unlock");
        var granted = await Fs.Locks.LockWebDavAsync(ino, WebDavC, LockMode.Exclusive, 0, TimeSpan.FromMinutes(1), null, default);
        Assert.True(granted.Ok, $"WebDAV LOCK after the POSIX lock went: {granted}");
    }

    [Fact]
    public async Task WebDav_unlock_with_an_unknown_token_fails_and_keeps_the_lock()
    {
        var ino = await NewFileAsync("f");
        var dav = await Fs.Locks.LockWebDavAsync(ino, WebDavC, LockMode.Exclusive, 0, null, null, default);
        Assert.True(dav.Ok, $"WebDAV LOCK: {dav}");
        Assert.NotEqual(Errno.OK, await Fs.Locks.UnlockWebDavAsync(ino, "opaquelocktoken:00000000-0000-0000-0000-000000000000", default));
        Expect(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, FuseA, LockMode.Exclusive, 0, 10, false, 11, default), "the lock is still held");
    }
}
