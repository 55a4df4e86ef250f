using System.Collections.Concurrent;
using System.Net;
using Fs.Core.Vfs;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs.Mount;

/// <summary>The identity a call acts as after its export's squash rules, and the export that admitted it.</summary>
/// <param name="Root">The inode of the export's root directory: ".." stops there, and handles issued carry it.</param>
public readonly record struct ExportAccess(NfsExport Export, Caller Caller, ulong Root)
{
    public bool ReadOnly => Export.ReadOnly;
}

/// <summary>
/// The configured exports: which client may mount what, and as whom it acts. Every file handle records the root of
/// the export it was reached through, so a call is judged by that export's rules; an export's path is resolved to
/// its root inode on first use and again whenever a handle names a root no resolved export has (the directory was
/// replaced).
/// </summary>
public sealed class ExportTable
{
    private readonly FileSystem _fs;
    private readonly (NfsExport Export, Caller Anonymous)[] _exports;
    private readonly ConcurrentDictionary<NfsExport, ulong> _roots = new(ReferenceEqualityComparer.Instance);

    public ExportTable(FileSystem fs, IReadOnlyList<NfsExport> exports)
    {
        _fs = fs;
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

    /// <summary>
    /// How a call from <paramref name="client"/> with <paramref name="credentials"/> may act on handles of the export
    /// rooted at <paramref name="root"/>; with no root (the call carries no valid handle), the first export that
    /// admits the client decides, and the procedure itself answers BADHANDLE. Null when no export admits it.
    /// </summary>
    public async ValueTask<ExportAccess?> AuthorizeAsync(IPEndPoint client, RpcCredentials credentials, ulong? root, CancellationToken ct)
    {
        for (var pass = 0; pass < 2; pass++)
        {
            var refresh = pass == 1;
            foreach (var (export, anonymous) in _exports)
            {
                if (!Admits(export, client))
                    continue;
                if (!_roots.TryGetValue(export, out var exportRoot) || refresh)
                {
                    var resolved = await ResolveAsync(export, ct).ConfigureAwait(false);
                    if (!resolved.Ok)
                        continue;
                    exportRoot = resolved.Value;
                }
                if (root is { } wanted && wanted != exportRoot)
                    continue;
                return new ExportAccess(export, SquashedCaller(export, anonymous, credentials), exportRoot);
            }
        }
        return null;
    }

    /// <summary>
    /// Walks an export's path from the volume root as root (exports are the administrator's choice, not the client's)
    /// and remembers the directory it ends at.
    /// </summary>
    public async ValueTask<Result<ulong>> ResolveAsync(NfsExport export, CancellationToken ct)
    {
        var ino = FsLimits.RootIno;
        foreach (var part in export.Path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(part) > FsLimits.MaxNameBytes)
                return Errno.ENAMETOOLONG;
            var found = await _fs.LookupAsync(Caller.Root, ino, part, ct).ConfigureAwait(false);
            if (!found.Ok)
                return found.Error;
            ino = found.Value.Ino;
        }
        var attr = await _fs.GetAttrAsync(ino, ct).ConfigureAwait(false);
        if (!attr.Ok)
            return attr.Error;
        if (attr.Value.Type != FileType.Directory)
            return Errno.ENOTDIR;
        _roots[export] = ino;
        return ino;
    }

    private static Caller SquashedCaller(NfsExport export, Caller anonymous, RpcCredentials credentials) => export.Squash switch
    {
        NfsSquash.All => anonymous,
        _ when credentials.Flavor == AuthFlavor.None => anonymous,
        NfsSquash.Root when credentials.Uid == 0 => anonymous,
        _ => credentials.Caller,
    };

    private static bool Admits(NfsExport export, IPEndPoint client) =>
        export.Admits(client.Address) && (!export.RequirePrivilegedPort || client.Port < 1024);

    public static string Normalize(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return "/" + string.Join('/', parts);
    }
}
