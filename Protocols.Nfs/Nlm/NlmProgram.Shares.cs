using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

public sealed partial class NlmProgram
{
    /// <summary>
    /// DOS share reservations (SHARE/UNSHARE, used by Windows and DOS clients): an access mode and a deny mode per
    /// open. The lock manager has no such concept and only this door's clients use it, so they live here in memory.
    /// </summary>
    private readonly Dictionary<ulong, List<ShareReservation>> _shares = [];
    private readonly Lock _sharesLock = new();

    private void Share(RpcCall call, XdrReader args, XdrWriter reply, bool share)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        var caller = args.ReadString(NlmLock.MaxString);
        var fh = args.ReadOpaque(NlmLock.MaxNetObj);
        var owner = args.ReadOpaque(NlmLock.MaxNetObj).ToArray();
        var deny = args.ReadUInt32() & 3;
        var access = args.ReadUInt32() & 3;
        var reclaim = args.ReadBool();
        NoteClient(call.Remote.Address, caller);
        reply.WriteOpaque(cookie.Span);
        reply.WriteUInt32((uint)ShareStatus());
        reply.WriteInt32(0); // sequence: unused by clients

        NlmStatus ShareStatus()
        {
            if (share && InGrace && !reclaim)
                return NlmStatus.DeniedGracePeriod;
            if (!_handles.TryDecodeInode(fh.Span, out var ino))
                return NlmStatus.StaleFh;
            var reservation = new ShareReservation(caller, owner, deny, access);
            lock (_sharesLock)
            {
                _shares.TryGetValue(ino, out var list);
                if (!share)
                {
                    list?.RemoveAll(r => r.SameOwner(reservation));
                    if (list is { Count: 0 })
                        _shares.Remove(ino);
                    return NlmStatus.Granted;
                }
                list ??= _shares[ino] = [];
                foreach (var held in list)
                    if (!held.SameOwner(reservation) && ((held.Deny & access) != 0 || (deny & held.Access) != 0))
                        return NlmStatus.Denied;
                list.Add(reservation);
                return NlmStatus.Granted;
            }
        }
    }

    private void DropShares(HashSet<string> clients)
    {
        lock (_sharesLock)
        {
            foreach (var (ino, list) in _shares.ToArray())
            {
                list.RemoveAll(r => clients.Contains(r.Client));
                if (list.Count == 0)
                    _shares.Remove(ino);
            }
        }
    }

    private sealed record ShareReservation(string Client, byte[] Owner, uint Deny, uint Access)
    {
        public bool SameOwner(ShareReservation other) => Client == other.Client && Owner.AsSpan().SequenceEqual(other.Owner);
    }
}
