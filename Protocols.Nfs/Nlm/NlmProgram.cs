using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Net;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

/// <summary>
/// The network lock manager, NLM version 4 (program 100021), over the shared lock manager: a lock an NFS client takes
/// here conflicts with locks taken through FUSE, WebDAV or the host, and the other way round. Owners are
/// (session, NFS door, client name, hash of svid and owner handle). After a start, a grace period admits only
/// reclaims, so clients whose locks were held before the restart get them back first.
/// </summary>
public sealed partial class NlmProgram : IRpcProgram
{
    public const uint ProgramNumber = 100021;

    private const uint ProcNull = 0;
    private const uint ProcTest = 1;
    private const uint ProcLock = 2;
    private const uint ProcCancel = 3;
    private const uint ProcUnlock = 4;
    private const uint ProcGranted = 5;
    private const uint ProcTestMsg = 6;
    private const uint ProcGrantedMsg = 10;
    private const uint ProcTestRes = 11;
    private const uint ProcGrantedRes = 15;
    private const uint ProcShare = 20;
    private const uint ProcUnshare = 21;
    private const uint ProcNmLock = 22;
    private const uint ProcFreeAll = 23;
    /// <summary>An _MSG procedure's answer goes back as the matching _RES procedure, this many numbers on.</summary>
    private const uint MsgToRes = 5;

    private readonly FileSystem _fs;
    private readonly Nfs3FileHandles _handles;
    private readonly ILogger _logger;
    private readonly long _graceEndsAt;
    private readonly ConcurrentDictionary<WaiterKey, Waiter> _waiters = new();
    private readonly ConcurrentDictionary<ulong, (int Svid, byte[] OwnerHandle)> _owners = new();
    private readonly ConcurrentDictionary<IPAddress, ConcurrentDictionary<string, byte>> _namesByAddress = new();
    private readonly CancellationTokenSource _stop = new();

    public NlmProgram(FileSystem fs, Nfs3FileHandles handles, TimeSpan gracePeriod, ILogger logger)
    {
        _fs = fs;
        _handles = handles;
        _logger = logger;
        _graceEndsAt = Environment.TickCount64 + (long)gracePeriod.TotalMilliseconds;
    }

    public uint Program => ProgramNumber;

    public uint LowVersion => 4;

    public uint HighVersion => 4;

    private bool InGrace => Environment.TickCount64 < _graceEndsAt;

    public async ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
    {
        var args = new XdrReader(call.Args);
        var proc = call.Procedure;
        using var door = FileSystem.EnterDoor(this);
        switch (proc)
        {
            case ProcNull:
                return RpcAcceptStatus.Success;
            case ProcTest:
                await TestAsync(call, args, reply, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            case ProcLock:
            case ProcNmLock:
                await LockAsync(call, args, reply, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            case ProcCancel:
                await CancelAsync(call, args, reply, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            case ProcUnlock:
                await UnlockAsync(call, args, reply, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            case ProcGranted:
                Granted(args, reply);
                return RpcAcceptStatus.Success;
            case >= ProcTestMsg and <= ProcGrantedMsg:
                await AnswerByMessageAsync(call, args, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            case >= ProcTestRes and <= ProcGrantedRes:
                // Answers to our own GRANTED_MSG callbacks: the lock is already held, nothing waits for them.
                return RpcAcceptStatus.Success;
            case ProcShare:
            case ProcUnshare:
                Share(call, args, reply, share: proc == ProcShare);
                return RpcAcceptStatus.Success;
            case ProcFreeAll:
            {
                var name = args.ReadString(NlmLock.MaxString);
                args.ReadInt32();
                await ReleaseClientAsync(name, null, ct).ConfigureAwait(false);
                return RpcAcceptStatus.Success;
            }
            default:
                return RpcAcceptStatus.ProcUnavail;
        }
    }

    /// <summary>
    /// An _MSG call: the same work as the synchronous procedure, but the answer is sent back to the client's lock manager
    /// as a separate _RES call, and the RPC reply itself is empty.
    /// </summary>
    private async ValueTask AnswerByMessageAsync(RpcCall call, XdrReader args, CancellationToken ct)
    {
        var answer = XdrWriter.Rent();
        try
        {
            var sync = call with { Procedure = call.Procedure - MsgToRes };
            switch (sync.Procedure)
            {
                case ProcTest:
                    await TestAsync(sync, args, answer, ct).ConfigureAwait(false);
                    break;
                case ProcLock:
                    await LockAsync(sync, args, answer, ct).ConfigureAwait(false);
                    break;
                case ProcCancel:
                    await CancelAsync(sync, args, answer, ct).ConfigureAwait(false);
                    break;
                case ProcUnlock:
                    await UnlockAsync(sync, args, answer, ct).ConfigureAwait(false);
                    break;
                default:
                    Granted(args, answer);
                    break;
            }
            var body = answer.WrittenSpan.ToArray();
            _ = CallClientAsync(call.Remote.Address, call.Procedure + MsgToRes, w => w.WriteFixedOpaque(body), _stop.Token);
        }
        finally
        {
            answer.Return();
        }
    }

    /// <summary>GRANTED sent to us: we never wait for locks as a client, so there is no blocked request it could satisfy.</summary>
    private static void Granted(XdrReader args, XdrWriter reply)
    {
        var cookie = args.ReadOpaque(NlmLock.MaxNetObj);
        args.ReadBool();
        NlmLock.Read(ref args);
        reply.WriteOpaque(cookie.Span);
        reply.WriteUInt32((uint)NlmStatus.Denied);
    }

    /// <summary>The lock-manager owner of an NLM lock: the client's name plus a hash of its process id and owner handle.</summary>
    private LockOwner OwnerOf(NlmLock l)
    {
        var hash = new XxHash64();
        hash.Append(BitConverter.GetBytes(l.Svid));
        hash.Append(l.OwnerHandle);
        var id = hash.GetCurrentHashAsUInt64();
        _owners.TryAdd(id, (l.Svid, l.OwnerHandle));
        return new LockOwner(_fs.Session, LockDoor.Nfs, l.CallerName, id);
    }

    /// <summary>Remembers which names a client address used, so an SM_NOTIFY naming either frees the same locks.</summary>
    private void NoteClient(IPAddress address, string name) =>
        _namesByAddress.GetOrAdd(address, _ => new ConcurrentDictionary<string, byte>()).TryAdd(name, 0);

    /// <summary>Frees every lock, share and pending wait of a client that rebooted (SM_NOTIFY) or asked (FREE_ALL).</summary>
    public async ValueTask ReleaseClientAsync(string name, IPAddress? address, CancellationToken ct)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { name };
        if (address is not null && _namesByAddress.TryGetValue(address, out var known))
            names.UnionWith(known.Keys);
        foreach (var key in _waiters.Keys)
            if (names.Contains(key.Owner.Client) && _waiters.TryRemove(key, out var waiter))
                await waiter.StopAsync().ConfigureAwait(false);
        var session = _fs.Session;
        await _fs.Locks.ReleaseWhereAsync(o => o.Session == session && o.Door == LockDoor.Nfs && names.Contains(o.Client), ct).ConfigureAwait(false);
        DropShares(names);
        _logger.LogInformation("released the NFS locks of {Client}", string.Join(", ", names));
    }

    private bool TryResolve(NlmLock l, out ulong ino) => _handles.TryDecodeInode(l.FileHandle.Span, out ino);

    /// <summary>Stops blocked-lock waits; locks already granted stay with the lock manager.</summary>
    public async ValueTask StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var key in _waiters.Keys)
            if (_waiters.TryRemove(key, out var waiter))
                await waiter.StopAsync().ConfigureAwait(false);
    }

    private readonly record struct WaiterKey(ulong Ino, LockOwner Owner, long Start, long End, bool Exclusive);

    /// <summary>A blocked LOCK still waiting in the lock manager; whoever takes it out of the table stops it.</summary>
    private sealed class Waiter(CancellationTokenSource cancel)
    {
        public CancellationTokenSource Cancel { get; } = cancel;

        public Task Task { get; set; } = Task.CompletedTask;

        public async ValueTask StopAsync()
        {
            await Cancel.CancelAsync().ConfigureAwait(false);
            await Task.ConfigureAwait(false);
            Cancel.Dispose();
        }
    }
}
