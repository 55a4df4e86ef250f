using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Locks;

public sealed class LockWaitTests : LockManagerTestBase
{
    [Fact]
    public async Task BlockedRequestIsGrantedAsSoonAsTheHolderUnlocks()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, 100, wait: false, pid: 1));

        var waiting = locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 50, 150, wait: true, pid: 2).AsTask();
        await AssertStillWaitingAsync(waiting);

        Assert.Equal(Errno.OK, await locks.UnlockPosixAsync(File, FuseA, 0, 100));

        Assert.Equal(Errno.OK, await waiting.WaitAsync(Patience));
        Assert.Equal([FuseB], (await locks.GetLocksAsync(File)).Select(l => l.Owner));
    }

    [Fact]
    public async Task BlockedRequestIsGrantedWhenTheHolderDowngrades()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        var waiting = locks.FlockAsync(File, FuseB, LockMode.Shared, wait: true).AsTask();
        await AssertStillWaitingAsync(waiting);

        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Shared, wait: false));

        Assert.Equal(Errno.OK, await waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task CancelledWaitIsEintrAndLeavesNoLockBehind()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        using var interrupt = new CancellationTokenSource();
        var posix = locks.SetPosixAsync(File, FuseB, LockMode.Shared, 0, 10, wait: true, pid: 2, interrupt.Token).AsTask();
        var flock = locks.FlockAsync(File, FuseB, LockMode.Shared, wait: true, interrupt.Token).AsTask();
        await AssertStillWaitingAsync(posix);

        await interrupt.CancelAsync();

        Assert.Equal(Errno.EINTR, await posix.WaitAsync(Patience));
        Assert.Equal(Errno.EINTR, await flock.WaitAsync(Patience));
        Assert.Equal(Errno.OK, await locks.UnlockPosixAsync(File, FuseA, 0, long.MaxValue));
        Assert.Equal(Errno.OK, await locks.UnflockAsync(File, FuseA));
        Assert.Empty(await locks.GetLocksAsync(File));
    }

    [Fact]
    public async Task PollingNoticesAReleaseMadeByAnotherAppliance()
    {
        var locks = NewManager(new LockManagerOptions { PollInterval = TimeSpan.FromMilliseconds(50), Time = Clock });
        var remote = new LockOwner(99, LockDoor.Nfs, "10.0.0.9", 1);
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, remote, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        var waiting = locks.SetPosixAsync(File, FuseA, LockMode.Shared, 0, 10, wait: true, pid: 2).AsTask();
        await AssertStillWaitingAsync(waiting);

        await ReleaseBehindTheManagersBackAsync(remote);

        Assert.Equal(Errno.OK, await waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task NotifyChangedWakesWaitersWithoutPolling()
    {
        var locks = NewManager();
        var remote = new LockOwner(99, LockDoor.Nfs, "10.0.0.9", 1);
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, remote, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        var waiting = locks.SetPosixAsync(File, FuseA, LockMode.Shared, 0, 10, wait: true, pid: 2).AsTask();
        await ReleaseBehindTheManagersBackAsync(remote);
        await AssertStillWaitingAsync(waiting);

        locks.NotifyChanged(File);

        Assert.Equal(Errno.OK, await waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task NotifyAllChangedWakesTheWaitersOfEveryInodeWithoutPolling()
    {
        var locks = NewManager();
        var remote = new LockOwner(99, LockDoor.Nfs, "10.0.0.9", 1);
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, remote, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.FlockAsync(OtherFile, remote, LockMode.Exclusive, wait: false));
        var posix = locks.SetPosixAsync(File, FuseA, LockMode.Shared, 0, 10, wait: true, pid: 2).AsTask();
        var flock = locks.FlockAsync(OtherFile, FuseB, LockMode.Exclusive, wait: true).AsTask();
        // As a dead session's locks go when an appliance cleans it: in the store, the inodes not named to the manager.
        await ReleaseBehindTheManagersBackAsync(remote);
        await AssertStillWaitingAsync(posix);
        await AssertStillWaitingAsync(flock);

        locks.NotifyAllChanged();

        Assert.Equal(Errno.OK, await posix.WaitAsync(Patience));
        Assert.Equal(Errno.OK, await flock.WaitAsync(Patience));
    }

    [Fact]
    public async Task ReleasingADepartedClientWakesItsWaiters()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, NfsC, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        var waiting = locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, 10, wait: true, pid: 2).AsTask();
        await AssertStillWaitingAsync(waiting);

        Assert.Equal(1, await locks.ReleaseWhereAsync(o => o.Client == NfsC.Client));

        Assert.Equal(Errno.OK, await waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task TwoOwnersWaitingForEachOtherGetEdeadlk()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 10, 20, wait: false, pid: 2));

        var aWaits = locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 10, 20, wait: true, pid: 1).AsTask();
        var bWaits = locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 0, 10, wait: true, pid: 2).AsTask();

        var refused = await Task.WhenAny(aWaits, bWaits).WaitAsync(Patience);
        Assert.Equal(Errno.EDEADLK, await refused);
        var (loser, survivor) = refused == aWaits ? (FuseA, bWaits) : (FuseB, aWaits);
        await AssertStillWaitingAsync(survivor);

        await locks.ReleaseOwnerAsync(File, loser);
        Assert.Equal(Errno.OK, await survivor.WaitAsync(Patience));
    }

    [Fact]
    public async Task AChainOfWaitsIsNotMistakenForADeadlock()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseA, LockMode.Exclusive, 0, 10, wait: false, pid: 1));
        Assert.Equal(Errno.OK, await locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 10, 20, wait: false, pid: 2));

        var bWaitsForA = locks.SetPosixAsync(File, FuseB, LockMode.Exclusive, 0, 10, wait: true, pid: 2).AsTask();
        var cWaitsForB = locks.SetPosixAsync(File, NfsC, LockMode.Exclusive, 10, 20, wait: true, pid: 3).AsTask();
        await AssertStillWaitingAsync(bWaitsForA);
        await AssertStillWaitingAsync(cWaitsForB);

        await locks.ReleaseOwnerAsync(File, FuseA);
        Assert.Equal(Errno.OK, await bWaitsForA.WaitAsync(Patience));
        await locks.ReleaseOwnerAsync(File, FuseB);
        Assert.Equal(Errno.OK, await cWaitsForB.WaitAsync(Patience));
    }

    [Fact]
    public async Task ShuttingDownEndsWaitsWithEintr()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        var waiting = locks.FlockAsync(File, FuseB, LockMode.Exclusive, wait: true).AsTask();
        await AssertStillWaitingAsync(waiting);

        await locks.DisposeAsync();

        Assert.Equal(Errno.EINTR, await waiting.WaitAsync(Patience));
    }

    /// <summary>Another appliance drops the lock in the shared store; this manager hears nothing of it.</summary>
    private async Task ReleaseBehindTheManagersBackAsync(LockOwner owner)
    {
        foreach (var ino in new[] { File, OtherFile })
            await Store.UpdateLocksAsync(ino, l => ((IReadOnlyList<LockRecord>?)[.. l.Where(r => r.Owner != owner)], 0), CancellationToken.None);
    }
}
