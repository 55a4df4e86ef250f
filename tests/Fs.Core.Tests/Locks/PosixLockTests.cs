using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Locks;

public sealed class PosixLockTests : LockManagerTestBase
{
    [Fact]
    public async Task GetLkReportsTheBlockingLockWithItsRangeModeAndPid()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 100, 200, wait: false, pid: 4242));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Shared, 300, long.MaxValue, wait: false, pid: 4242));

        var blocking = (await locks.TestPosixAsync(File, FuseB, LockMode.Shared, 0, long.MaxValue)).Value;
        Assert.NotNull(blocking);
        Assert.Equal((LockMode.Exclusive, 100L, 200L, 4242, FuseA), (blocking.Mode, blocking.Start, blocking.End, blocking.Pid, blocking.Owner));

        var toEof = (await locks.TestPosixAsync(File, FuseB, LockMode.Exclusive, 250, 400)).Value;
        Assert.NotNull(toEof);
        Assert.Equal((LockMode.Shared, 300L, long.MaxValue), (toEof.Mode, toEof.Start, toEof.End));

        Assert.Null((await locks.TestPosixAsync(File, FuseB, LockMode.Shared, 300, 500)).Value);
        Assert.Null((await locks.TestPosixAsync(File, FuseA, LockMode.Exclusive, 0, long.MaxValue)).Value);
    }

    [Fact]
    public async Task ConflictWithoutWaitingIsEagainAndLeavesNoLock()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Shared, 0, 10, wait: false, pid: 1));

        Assert.Equal(Errno.EAGAIN, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 5, 15, wait: false, pid: 2));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Shared, 5, 15, wait: false, pid: 2));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, NfsC, LockMode.Exclusive, 15, 20, wait: false, pid: 3));

        Assert.DoesNotContain(await locks.GetLocksAsync(File), l => l.Owner == FuseB && l.Mode == LockMode.Exclusive);
    }

    [Fact]
    public async Task UnlockingASubRangeOpensAHoleOthersCanLock()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.UnlockPosixAsync(File, FuseA, 4096, 8192));

        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 4096, 8192, wait: false, pid: 2));
        Assert.Equal(Errno.EAGAIN, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 8192, 8193, wait: false, pid: 2));
        Assert.Equal(Errno.EAGAIN, await locks.SetPosixAsync(File, FuseB, LockMode.Shared, 4095, 4096, wait: false, pid: 2));
    }

    [Theory]
    [InlineData(-1, 10)]
    [InlineData(10, 10)]
    [InlineData(10, 5)]
    public async Task BadRangesAreEinval(long start, long end)
    {
        var locks = NewManager();
        Assert.Equal(Errno.EINVAL, await locks.SetPosixAsync(File, FuseA, LockMode.Shared, start, end, wait: false, pid: 1));
        Assert.Equal(Errno.EINVAL, (await locks.TestPosixAsync(File, FuseA, LockMode.Shared, start, end)).Error);
        Assert.Equal(Errno.EINVAL, await locks.UnlockPosixAsync(File, FuseA, start, end));
        Assert.Empty(await locks.GetLocksAsync(File));
    }

    [Fact]
    public async Task UnlockingNothingSucceedsWithoutWriting()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.UnlockPosixAsync(File, FuseA, 0, long.MaxValue));
        Assert.Equal(Errno.OK, await locks.UnflockAsync(File, FuseA));
        Assert.Equal(0, Store.Writes);
    }

    [Fact]
    public async Task CloseReleasesOnlyThatOwnersPosixLocksOnThatFile()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Shared, 20, 30, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(OtherFile, FuseA, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Shared, 20, 30, wait: false, pid: 2));

        await locks.ReleaseOwnerAsync(File, FuseA);

        var left = await locks.GetLocksAsync(File);
        Assert.Equal([(LockKind.Posix, FuseB), (LockKind.Flock, FuseA)], left.OrderBy(l => l.Kind).Select(l => (l.Kind, l.Owner)));
        Assert.Single(await locks.GetLocksAsync(OtherFile));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 0, 10, wait: false, pid: 2));
    }

    [Fact]
    public async Task ReleaseWhereDropsEveryKindOfTheMatchingOwnersEverywhere()
    {
        var locks = NewManager();
        var otherClient = NfsC with { Client = "10.0.0.8" };
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, NfsC, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, NfsC with { OwnerId = 2 }, LockMode.Shared, 50, 60, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.FlockAsync(OtherFile, NfsC, LockMode.Shared, wait: false));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(OtherFile, otherClient, LockMode.Shared, 0, 10, wait: false, pid: 1));

        var released = await locks.ReleaseWhereAsync(o => o.Door == LockDoor.Nfs && o.Client == "10.0.0.7");

        Assert.Equal(3, released);
        Assert.Empty(await locks.GetLocksAsync(File));
        Assert.Equal([otherClient], (await locks.GetLocksAsync(OtherFile)).Select(l => l.Owner));
    }
}
