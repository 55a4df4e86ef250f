using System.Net;
using Fs.Core.Vfs;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs.Mount;

/// <summary>The identity a call acts as after its export's squash rules, and the export that admitted it.</summary>
public readonly record struct ExportAccess(NfsExport Export, Caller Caller)
{
    public bool ReadOnly => Export.ReadOnly;
}

/// <summary>
/// The configured exports: which client may mount what, and as whom it acts. A file handle names only an inode, so a
/// call is judged by the first export that admits the client's address (exports are ordered most specific first).
/// </summary>
public sealed class ExportTable
{
    private readonly (NfsExport Export, Caller Anonymous)[] _exports;

    public ExportTable(IReadOnlyList<NfsExport> exports)
    {
        if (exports.Count == 0)
            exports = [new NfsExport()];
        _exports = [.. exports.Select(e => (e, new Caller(e.AnonUid, e.AnonGid)))];
    }

    public IEnumerable<NfsExport> Exports => _exports.Select(e => e.Export);

    /// <summary>The export <paramref name="path"/> names, if the client may mount it.</summary>
    public NfsExport? Find(string path, IPEndPoint client)
    {
        var normalized = Normalize(path);
        foreach (var (export, _) in _exports)
            if (Normalize(export.Path) == normalized && Admits(export, client))
                return export;
        return null;
    }

    /// <summary>How a call from <paramref name="client"/> with <paramref name="credentials"/> may act; null when no export admits it.</summary>
    public ExportAccess? Authorize(IPEndPoint client, RpcCredentials credentials)
    {
        foreach (var (export, anonymous) in _exports)
        {
            if (!Admits(export, client))
                continue;
            var caller = export.Squash switch
            {
                NfsSquash.All => anonymous,
                _ when credentials.Flavor == AuthFlavor.None => anonymous,
                NfsSquash.Root when credentials.Uid == 0 => anonymous,
                _ => credentials.Caller,
            };
            return new ExportAccess(export, caller);
        }
        return null;
    }

    private static bool Admits(NfsExport export, IPEndPoint client) =>
        export.Admits(client.Address) && (!export.RequirePrivilegedPort || client.Port < 1024);

    public static string Normalize(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return "/" + string.Join('/', parts);
    }
}
