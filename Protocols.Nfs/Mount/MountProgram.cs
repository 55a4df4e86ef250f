using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Mount;

/// <summary>
/// MOUNT version 3 (RFC 1813 appendix I), program 100005: NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT. MNT turns an
/// export path into the root file handle and offers AUTH_SYS and AUTH_NONE.
/// </summary>
public sealed class MountProgram(ExportTable exports, Nfs3FileHandles handles, ILogger logger) : IRpcProgram
{
    public const uint ProgramNumber = 100005;

    private const int MaxPath = 1024;
    private const uint ProcNull = 0;
    private const uint ProcMnt = 1;
    private const uint ProcDump = 2;
    private const uint ProcUmnt = 3;
    private const uint ProcUmntAll = 4;
    private const uint ProcExport = 5;

    private const uint MntOk = 0;
    private const uint MntNoEnt = 2;
    private const uint MntAcces = 13;
    private const uint MntNotDir = 20;
    private const uint MntNameTooLong = 63;
    private const uint MntServerFault = 10006;

    private readonly Lock _lock = new();
    private readonly List<(string Host, string Path)> _mounts = [];

    public uint Program => ProgramNumber;

    public uint LowVersion => 3;

    public uint HighVersion => 3;

    public async ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
    {
        var args = new XdrReader(call.Args);
        var host = call.Remote.Address.ToString();
        switch (call.Procedure)
        {
            case ProcNull:
                break;
            case ProcMnt:
                await MountAsync(call, args.ReadString(MaxPath), reply, ct).ConfigureAwait(false);
                break;
            case ProcDump:
                lock (_lock)
                {
                    foreach (var (mountHost, path) in _mounts)
                    {
                        reply.WriteBool(true);
                        reply.WriteString(mountHost);
                        reply.WriteString(path);
                    }
                }
                reply.WriteBool(false);
                break;
            case ProcUmnt:
            {
                var path = ExportTable.Normalize(args.ReadString(MaxPath));
                lock (_lock)
                    _mounts.RemoveAll(m => m.Host == host && m.Path == path);
                break;
            }
            case ProcUmntAll:
                lock (_lock)
                    _mounts.RemoveAll(m => m.Host == host);
                break;
            case ProcExport:
                foreach (var export in exports.Exports)
                {
                    reply.WriteBool(true);
                    reply.WriteString(ExportTable.Normalize(export.Path));
                    foreach (var network in export.Clients ?? [])
                    {
                        reply.WriteBool(true);
                        reply.WriteString(network.ToString());
                    }
                    reply.WriteBool(false);
                }
                reply.WriteBool(false);
                break;
            default:
                return RpcAcceptStatus.ProcUnavail;
        }
        return RpcAcceptStatus.Success;
    }

    private async ValueTask MountAsync(RpcCall call, string path, XdrWriter reply, CancellationToken ct)
    {
        var export = exports.Find(path, call.Remote);
        if (export is null)
        {
            var exists = exports.Exports.Any(e => ExportTable.Normalize(e.Path) == ExportTable.Normalize(path));
            logger.LogInformation("MNT {Path} from {Remote} refused: {Reason}", path, call.Remote, exists ? "client not admitted" : "not exported");
            reply.WriteUInt32(exists ? MntAcces : MntNoEnt);
            return;
        }
        var root = await exports.ResolveAsync(export, ct).ConfigureAwait(false);
        if (!root.Ok)
        {
            reply.WriteUInt32(root.Error switch
            {
                Errno.ENOENT => MntNoEnt,
                Errno.ENOTDIR => MntNotDir,
                Errno.ENAMETOOLONG => MntNameTooLong,
                _ => MntServerFault,
            });
            return;
        }
        var normalized = ExportTable.Normalize(path);
        var host = call.Remote.Address.ToString();
        lock (_lock)
        {
            if (!_mounts.Contains((host, normalized)))
                _mounts.Add((host, normalized));
        }
        reply.WriteUInt32(MntOk);
        handles.Write(reply, root.Value, root.Value);
        reply.WriteUInt32(2);
        reply.WriteUInt32((uint)AuthFlavor.Sys);
        reply.WriteUInt32((uint)AuthFlavor.None);
    }
}
