using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Locks;

/// <summary>One lock is held, another owner asks for a second one of another kind on the same file, in both orders.</summary>
public sealed class CrossKindLockTests : LockManagerTestBase
{
    public static TheoryData<LockKind, LockMode, LockKind, LockMode, bool> Matrix()
    {
        var data = new TheoryData<LockKind, LockMode, LockKind, LockMode, bool>();
        foreach (var held in new[] { LockMode.Shared, LockMode.Exclusive })
        {
            foreach (var wanted in new[] { LockMode.Shared, LockMode.Exclusive })
            {
                var conflict = held == LockMode.Exclusive || wanted == LockMode.Exclusive;
                // flock and POSIX locks do not see each other, as on Linux.
                data.Add(LockKind.Posix, held, LockKind.Flock, wanted, false);
                data.Add(LockKind.Flock, held, LockKind.Posix, wanted, false);
                data.Add(LockKind.WebDav, held, LockKind.Posix, wanted, conflict);
                data.Add(LockKind.Posix, held, LockKind.WebDav, wanted, conflict);
                data.Add(LockKind.WebDav, held, LockKind.Flock, wanted, conflict);
                data.Add(LockKind.Flock, held, LockKind.WebDav, wanted, conflict);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task KindsConflictWhereAWriteIsInvolved(LockKind heldKind, LockMode heldMode, LockKind wantedKind, LockMode wantedMode, bool conflict)
    {
        var locks = NewManager();
        Assert.Equal(Errno.OK, await TakeAsync(locks, heldKind, heldMode, FuseA, DavD));

        var errno = await TakeAsync(locks, wantedKind, wantedMode, FuseB, DavE);

        Assert.Equal(conflict ? Errno.EAGAIN : Errno.OK, errno);
        Assert.Equal(conflict ? 1 : 2, (await locks.GetLocksAsync(File)).Count);
    }

    [Fact]
    public async Task GetLkReportsAWebDavLockAsCoveringTheWholeFile()
    {
        var locks = NewManager();
        Assert.True((await locks.LockWebDavAsync(File, DavD, LockMode.Shared, 0, null, null)).Ok);

        var blocking = (await locks.TestPosixAsync(File, FuseA, LockMode.Exclusive, 1000, 2000)).Value;

        Assert.NotNull(blocking);
        Assert.Equal((LockKind.WebDav, 0L, long.MaxValue), (blocking.Kind, blocking.Start, blocking.End));
        Assert.Null((await locks.TestPosixAsync(File, FuseA, LockMode.Shared, 1000, 2000)).Value);
    }

    private static async Task<Errno> TakeAsync(LockManager locks, LockKind kind, LockMode mode, LockOwner owner, LockOwner davOwner) => kind switch
    {
        LockKind.Posix => await locks.SetPosixAsync(File, owner, mode, 100, 200, wait: false, pid: 7),
        LockKind.Flock => await locks.FlockAsync(File, owner, mode, wait: false),
        _ => (await locks.LockWebDavAsync(File, davOwner, mode, 0, null, null)).Error,
    };
}
