using Microsoft.Extensions.Logging;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

/// <summary>
/// The server side of the status monitor (NSM, program 100024) that clients' statd talks to: SM_NOTIFY from a
/// rebooted client frees the locks it held here. SM_STAT/SM_MON/SM_UNMON/SM_UNMON_ALL are answered with this
/// server's state number, which is odd while it runs and new on every start.
/// </summary>
public sealed class NsmProgram(NlmProgram nlm, ILogger logger) : IRpcProgram
{
    public const uint ProgramNumber = 100024;

    private const int MaxName = 1024;
    private const uint ProcNull = 0;
    private const uint ProcStat = 1;
    private const uint ProcMon = 2;
    private const uint ProcUnmon = 3;
    private const uint ProcUnmonAll = 4;
    private const uint ProcSimuCrash = 5;
    private const uint ProcNotify = 6;
    private const uint StatSucc = 0;

    private readonly int _state = (int)(DateTimeOffset.UtcNow.ToUnixTimeSeconds() & 0x3FFF_FFFF) | 1;

    public uint Program => ProgramNumber;

    public uint LowVersion => 1;

    public uint HighVersion => 1;

    public async ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
    {
        var args = new XdrReader(call.Args);
        switch (call.Procedure)
        {
            case ProcNull:
            case ProcSimuCrash:
                break;
            case ProcStat:
                args.ReadString(MaxName);
                reply.WriteUInt32(StatSucc);
                reply.WriteInt32(_state);
                break;
            case ProcMon:
                args.ReadString(MaxName);
                ReadMyId(ref args);
                args.ReadFixedOpaque(16);
                reply.WriteUInt32(StatSucc);
                reply.WriteInt32(_state);
                break;
            case ProcUnmon:
                args.ReadString(MaxName);
                ReadMyId(ref args);
                reply.WriteInt32(_state);
                break;
            case ProcUnmonAll:
                ReadMyId(ref args);
                reply.WriteInt32(_state);
                break;
            case ProcNotify:
            {
                var name = args.ReadString(MaxName);
                var state = args.ReadInt32();
                logger.LogInformation("client {Client} ({Address}) restarted (state {State}); freeing its locks", name, call.Remote.Address, state);
                await nlm.ReleaseClientAsync(name, call.Remote.Address, ct).ConfigureAwait(false);
                break;
            }
            default:
                return RpcAcceptStatus.ProcUnavail;
        }
        return RpcAcceptStatus.Success;
    }

    private static void ReadMyId(ref XdrReader args)
    {
        args.ReadString(MaxName);
        args.ReadInt32();
        args.ReadInt32();
        args.ReadInt32();
    }
}
