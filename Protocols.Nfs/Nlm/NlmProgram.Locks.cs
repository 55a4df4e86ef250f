using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

public sealed partial class NlmProgram
{
    /// <summary>TEST: would this lock be granted? If not, who holds the conflicting one.</summary>
    private async ValueTask TestAsync(RpcCall call, XdrReader args, XdrWriter reply, CancellationToken ct)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        var exclusive = args.ReadBool();
        var l = NlmLock.Read(ref args);
        NoteClient(call.Remote.Address, l.CallerName);
        reply.WriteOpaque(cookie.Span);
        if (InGrace)
        {
            reply.WriteUInt32((uint)NlmStatus.DeniedGracePeriod);
            return;
        }
        if (!TryResolve(l, out var ino))
        {
            reply.WriteUInt32((uint)NlmStatus.StaleFh);
            return;
        }
        if (!l.TryGetRange(out var start, out var end))
        {
            reply.WriteUInt32((uint)NlmStatus.FBig);
            return;
        }
        var mode = exclusive ? LockMode.Exclusive : LockMode.Shared;
        var conflict = await _fs.Locks.TestPosixAsync(ino, OwnerOf(l), mode, start, end, ct).ConfigureAwait(false);
        if (!conflict.Ok)
        {
            reply.WriteUInt32((uint)StatusOf(conflict.Error));
            return;
        }
        if (conflict.Value is not { } holder)
        {
            reply.WriteUInt32((uint)NlmStatus.Granted);
            return;
        }
        reply.WriteUInt32((uint)NlmStatus.Denied);
        reply.WriteBool(holder.Mode == LockMode.Exclusive);
        if (holder.Owner.Door == LockDoor.Nfs && _owners.TryGetValue(holder.Owner.OwnerId, out var nlmOwner))
        {
            reply.WriteInt32(nlmOwner.Svid);
            reply.WriteOpaque(nlmOwner.OwnerHandle);
        }
        else
        {
            reply.WriteInt32(holder.Pid);
            reply.WriteOpaque([]);
        }
        reply.WriteUInt64((ulong)holder.Start);
        reply.WriteUInt64(holder.End == long.MaxValue ? 0 : (ulong)(holder.End - holder.Start));
    }

    /// <summary>
    /// LOCK and NM_LOCK. A conflicting blocking request is answered BLOCKED and keeps waiting here; when it is granted the
    /// client is told by a GRANTED_MSG callback, and a client that cannot be reached finds the lock granted at its next retry.
    /// </summary>
    private async ValueTask LockAsync(RpcCall call, XdrReader args, XdrWriter reply, CancellationToken ct)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        var block = args.ReadBool();
        var exclusive = args.ReadBool();
        var l = NlmLock.Read(ref args);
        var reclaim = args.ReadBool();
        args.ReadInt32(); // the client's NSM state: reboots reach us as SM_NOTIFY instead
        NoteClient(call.Remote.Address, l.CallerName);
        reply.WriteOpaque(cookie.Span);
        if (InGrace && !reclaim)
        {
            reply.WriteUInt32((uint)NlmStatus.DeniedGracePeriod);
            return;
        }
        if (!TryResolve(l, out var ino))
        {
            reply.WriteUInt32((uint)NlmStatus.StaleFh);
            return;
        }
        if (!l.TryGetRange(out var start, out var end))
        {
            reply.WriteUInt32((uint)NlmStatus.FBig);
            return;
        }
        var owner = OwnerOf(l);
        var mode = exclusive ? LockMode.Exclusive : LockMode.Shared;
        var key = new WaiterKey(ino, owner, start, end, exclusive);
        var result = await _fs.Locks.SetPosixAsync(ino, owner, mode, start, end, wait: false, l.Svid, ct).ConfigureAwait(false);
        if (result == Errno.OK)
        {
            reply.WriteUInt32((uint)NlmStatus.Granted);
            return;
        }
        if (result != Errno.EAGAIN || !block || call.Procedure == ProcNmLock)
        {
            reply.WriteUInt32((uint)StatusOf(result));
            return;
        }
        if (!_waiters.ContainsKey(key))
            StartWaiter(key, l, call.Remote.Address, cookie.ToArray());
        reply.WriteUInt32((uint)NlmStatus.Blocked);
    }

    private void StartWaiter(WaiterKey key, NlmLock l, System.Net.IPAddress client, byte[] cookie)
    {
        var waiter = new Waiter(CancellationTokenSource.CreateLinkedTokenSource(_stop.Token));
        if (!_waiters.TryAdd(key, waiter))
        {
            waiter.Cancel.Dispose();
            return;
        }
        waiter.Task = WaitAndGrantAsync(key, waiter, l, client, cookie);
    }

    private async Task WaitAndGrantAsync(WaiterKey key, Waiter waiter, NlmLock l, System.Net.IPAddress client, byte[] cookie)
    {
        await Task.Yield();
        var mine = new KeyValuePair<WaiterKey, Waiter>(key, waiter);
        try
        {
            var mode = key.Exclusive ? LockMode.Exclusive : LockMode.Shared;
            var result = await _fs.Locks.SetPosixAsync(key.Ino, key.Owner, mode, key.Start, key.End, wait: true, l.Svid, waiter.Cancel.Token).ConfigureAwait(false);
            if (result != Errno.OK)
                return;
            if (!_waiters.TryRemove(mine))
            {
                // Cancelled while the grant raced in: the client no longer wants the lock.
                await _fs.Locks.UnlockPosixAsync(key.Ino, key.Owner, key.Start, key.End, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            waiter.Cancel.Dispose();
            await CallClientAsync(client, ProcGrantedMsg, w =>
            {
                w.WriteOpaque(cookie);
                w.WriteBool(key.Exclusive);
                l.Write(w);
            }, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "blocked NLM lock of {Client} on inode {Ino} failed", key.Owner.Client, key.Ino);
        }
        finally
        {
            if (_waiters.TryRemove(mine))
                waiter.Cancel.Dispose();
        }
    }

    /// <summary>CANCEL: the client gave up waiting for a blocked lock.</summary>
    private async ValueTask CancelAsync(RpcCall call, XdrReader args, XdrWriter reply, CancellationToken ct)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        args.ReadBool();
        var exclusive = args.ReadBool();
        var l = NlmLock.Read(ref args);
        reply.WriteOpaque(cookie.Span);
        if (InGrace)
        {
            reply.WriteUInt32((uint)NlmStatus.DeniedGracePeriod);
            return;
        }
        if (!TryResolve(l, out var ino) || !l.TryGetRange(out var start, out var end))
        {
            reply.WriteUInt32((uint)NlmStatus.Denied);
            return;
        }
        var key = new WaiterKey(ino, OwnerOf(l), start, end, exclusive);
        if (_waiters.TryRemove(key, out var waiter))
            await waiter.StopAsync().ConfigureAwait(false);
        reply.WriteUInt32((uint)NlmStatus.Granted);
    }

    /// <summary>UNLOCK.</summary>
    private async ValueTask UnlockAsync(RpcCall call, XdrReader args, XdrWriter reply, CancellationToken ct)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        var l = NlmLock.Read(ref args);
        NoteClient(call.Remote.Address, l.CallerName);
        reply.WriteOpaque(cookie.Span);
        if (InGrace)
        {
            reply.WriteUInt32((uint)NlmStatus.DeniedGracePeriod);
            return;
        }
        if (!TryResolve(l, out var ino))
        {
            reply.WriteUInt32((uint)NlmStatus.StaleFh);
            return;
        }
        if (!l.TryGetRange(out var start, out var end))
        {
            reply.WriteUInt32((uint)NlmStatus.FBig);
            return;
        }
        var result = await _fs.Locks.UnlockPosixAsync(ino, OwnerOf(l), start, end, ct).ConfigureAwait(false);
        reply.WriteUInt32((uint)(result == Errno.OK ? NlmStatus.Granted : StatusOf(result)));
    }

    private static NlmStatus StatusOf(Errno errno) => errno switch
    {
        Errno.OK => NlmStatus.Granted,
        Errno.EAGAIN or Errno.EACCES => NlmStatus.Denied,
        Errno.EDEADLK => NlmStatus.Deadlock,
        Errno.ENOLCK or Errno.ENOSPC or Errno.ENOMEM => NlmStatus.DeniedNoLocks,
        Errno.ENOENT or Errno.ESTALE => NlmStatus.StaleFh,
        Errno.EROFS => NlmStatus.ReadOnlyFs,
        Errno.EFBIG or Errno.EOVERFLOW or Errno.EINVAL => NlmStatus.FBig,
        _ => NlmStatus.Failed,
    };
}
