using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Locks;

public sealed class FlockTests : LockManagerTestBase
{
    [Fact]
    public async Task SharedLocksCoexistAndExcludeExclusive()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Shared, wait: false));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseB, LockMode.Shared, wait: false));
        Assert.Equal(Errno.EAGAIN, await locks.FlockAsync(File, NfsC, LockMode.Exclusive, wait: false));
        Assert.Equal(Errno.OK, await locks.FlockAsync(OtherFile, NfsC, LockMode.Exclusive, wait: false));
    }

    [Fact]
    public async Task NonBlockingUpgradeThatConflictsKeepsTheSharedLock()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Shared, wait: false));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseB, LockMode.Shared, wait: false));

        Assert.Equal(Errno.EAGAIN, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));

        Assert.Contains(await locks.GetLocksAsync(File), l => l.Owner == FuseA && l.Mode == LockMode.Shared);
        Assert.Equal(Errno.OK, await locks.UnflockAsync(File, FuseB));
        Assert.Equal(Errno.EAGAIN, await locks.FlockAsync(File, NfsC, LockMode.Exclusive, wait: false));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        Assert.Equal([LockMode.Exclusive], (await locks.GetLocksAsync(File)).Select(l => l.Mode));
    }

    [Fact]
    public async Task DowngradeLetsOtherReadersIn()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: false));
        Assert.Equal(Errno.EAGAIN, await locks.FlockAsync(File, FuseB, LockMode.Shared, wait: false));

        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Shared, wait: false));

        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseB, LockMode.Shared, wait: false));
        Assert.Equal(2, (await locks.GetLocksAsync(File)).Count);
    }

    [Fact]
    public async Task TwoBlockingUpgradesDoNotWaitForEachOtherForever()
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseA, LockMode.Shared, wait: false));
        Assert.Equal(Errno.OK, await locks.FlockAsync(File, FuseB, LockMode.Shared, wait: false));

        var upgradeA = locks.FlockAsync(File, FuseA, LockMode.Exclusive, wait: true).AsTask();
        var upgradeB = locks.FlockAsync(File, FuseB, LockMode.Exclusive, wait: true).AsTask();

        var first = await Task.WhenAny(upgradeA, upgradeB).WaitAsync(Patience);
        Assert.Equal(Errno.OK, await first);
        var winner = first == upgradeA ? FuseA : FuseB;
        var second = first == upgradeA ? upgradeB : upgradeA;
        await AssertStillWaitingAsync(second);

        Assert.Equal(Errno.OK, await locks.UnflockAsync(File, winner));
        Assert.Equal(Errno.OK, await second.WaitAsync(Patience));
        Assert.Equal([LockMode.Exclusive], (await locks.GetLocksAsync(File)).Select(l => l.Mode));
    }
}
