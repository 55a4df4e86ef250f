using System.Net;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Portmap;

/// <summary>
/// Portmapper version 2 (RFC 1833): NULL, SET, UNSET, GETPORT, DUMP. SET and UNSET are accepted only from this host,
/// so a remote client cannot redirect other clients to its own ports.
/// </summary>
public sealed class PortmapProgram(PortmapRegistry registry) : IRpcProgram
{
    public const uint ProgramNumber = 100000;

    private const uint ProcNull = 0;
    private const uint ProcSet = 1;
    private const uint ProcUnset = 2;
    private const uint ProcGetPort = 3;
    private const uint ProcDump = 4;

    public uint Program => ProgramNumber;

    public uint LowVersion => 2;

    public uint HighVersion => 2;

    public ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
    {
        var args = new XdrReader(call.Args);
        switch (call.Procedure)
        {
            case ProcNull:
                break;
            case ProcSet:
            case ProcUnset:
            {
                var mapping = new PortMapping(args.ReadUInt32(), args.ReadUInt32(), args.ReadUInt32(), args.ReadUInt32());
                var allowed = IPAddress.IsLoopback(call.Remote.Address);
                var done = allowed && (call.Procedure == ProcSet ? registry.Set(mapping) : registry.Unset(mapping.Program, mapping.Version));
                reply.WriteBool(done);
                break;
            }
            case ProcGetPort:
            {
                var program = args.ReadUInt32();
                var version = args.ReadUInt32();
                var protocol = args.ReadUInt32();
                args.ReadUInt32();
                reply.WriteUInt32(registry.GetPort(program, version, protocol));
                break;
            }
            case ProcDump:
                foreach (var m in registry.Dump())
                {
                    reply.WriteBool(true);
                    reply.WriteUInt32(m.Program);
                    reply.WriteUInt32(m.Version);
                    reply.WriteUInt32(m.Protocol);
                    reply.WriteUInt32(m.Port);
                }
                reply.WriteBool(false);
                break;
            default:
                return ValueTask.FromResult(RpcAcceptStatus.ProcUnavail);
        }
        return ValueTask.FromResult(RpcAcceptStatus.Success);
    }
}
