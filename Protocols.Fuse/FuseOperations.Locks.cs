using Fs.Core.Locks;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// GETLK, SETLK, SETLKW (fcntl byte-range locks, and flock through FUSE_LK_FLOCK), on the shared lock manager.
internal sealed partial class FuseOperations
{
    private async ValueTask GetLkAsync(FuseRequest request)
    {
        var input = request.Read<FuseLkIn>();
        var wanted = input.Lk;
        if (wanted.Type == FuseConstants.F_UNLCK)
        {
            request.Reply(new FuseLkOut { Lk = wanted });
            return;
        }
        var (start, end) = Range(wanted);
        var conflict = await _fs.Locks.TestPosixAsync(request.NodeId, Owner(input.Owner), Mode(wanted.Type), start, end, CancellationToken.None).ConfigureAwait(false);
        if (!conflict.Ok)
        {
            request.Fail((int)conflict.Error);
            return;
        }
        request.Reply(new FuseLkOut { Lk = conflict.Value is { } held ? Describe(held) : wanted with { Type = FuseConstants.F_UNLCK } });
    }

    private async ValueTask SetLkAsync(FuseRequest request, bool wait)
    {
        var input = request.Read<FuseLkIn>();
        var owner = Owner(input.Owner);
        var lk = input.Lk;
        var ct = request.Cancellation;
        if (lk.Type is not (FuseConstants.F_RDLCK or FuseConstants.F_WRLCK or FuseConstants.F_UNLCK))
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        Errno result;
        if ((input.LkFlags & FuseRequestFlags.LockFlock) != 0)
        {
            result = lk.Type == FuseConstants.F_UNLCK
                ? await _fs.Locks.UnflockAsync(request.NodeId, owner, ct).ConfigureAwait(false)
                : await _fs.Locks.FlockAsync(request.NodeId, owner, Mode(lk.Type), wait, ct).ConfigureAwait(false);
        }
        else
        {
            var (start, end) = Range(lk);
            result = lk.Type == FuseConstants.F_UNLCK
                ? await _fs.Locks.UnlockPosixAsync(request.NodeId, owner, start, end, ct).ConfigureAwait(false)
                : await _fs.Locks.SetPosixAsync(request.NodeId, owner, Mode(lk.Type), start, end, wait, (int)lk.Pid, ct).ConfigureAwait(false);
        }
        Reply(request, result);
    }

    private static LockMode Mode(uint type) => type == FuseConstants.F_WRLCK ? LockMode.Exclusive : LockMode.Shared;

    /// <summary>The kernel's inclusive end (OFFSET_MAX = to end of file) as the lock manager's exclusive one.</summary>
    internal static (long Start, long End) Range(FuseFileLock lk)
    {
        var start = (long)Math.Min(lk.Start, long.MaxValue);
        var end = lk.End >= long.MaxValue - 1 ? long.MaxValue : (long)lk.End + 1;
        return (start, end);
    }

    internal static FuseFileLock Describe(LockRecord held) => new()
    {
        Start = (ulong)held.Start,
        End = held.End == long.MaxValue ? long.MaxValue : (ulong)(held.End - 1),
        Type = held.Mode == LockMode.Exclusive ? FuseConstants.F_WRLCK : FuseConstants.F_RDLCK,
        Pid = (uint)Math.Max(0, held.Pid),
    };
}
