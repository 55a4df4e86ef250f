using System.Text;
using System.Xml.Linq;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>PROPFIND: allprop, propname or named properties of a resource and, at Depth 1 (or infinity when enabled), its members.</summary>
public static class Propfind
{
    private const int PageSize = 512;

    private enum Kind { AllProp, PropName, Prop }

    private sealed record Query(Kind Kind, IReadOnlyList<XName> Names)
    {
        public bool Wants(XName name) => Kind != Kind.Prop || Names.Contains(name);

        /// <summary>Whether answering needs the resources' dead properties (stored as extended attributes).</summary>
        public bool WantsDead => Kind != Kind.Prop || Names.Any(n => !DavProperties.IsLive(n));
    }

    /// <summary>A dead property of a resource: its name and stored XML (null where the caller may not read it).</summary>
    private readonly record struct DeadProperty(XName Name, byte[]? Value);

    public static async Task HandleAsync(DavRequest r)
    {
        var depth = r.Request.Headers["Depth"].ToString().Trim();
        var infinite = depth.Length == 0 || depth.Equals("infinity", StringComparison.OrdinalIgnoreCase);
        if (!infinite && depth is not ("0" or "1"))
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        if (infinite && !r.Options.AllowInfiniteDepthPropfind)
        {
            await DavXml.WriteErrorAsync(r.Response, StatusCodes.Status403Forbidden, "propfind-finite-depth", null, r.Ct).ConfigureAwait(false);
            return;
        }
        var body = await DavXml.ReadBodyAsync(r.Request, r.Options.MaxXmlBodyBytes, r.Ct).ConfigureAwait(false);
        if (!body.Ok)
        {
            r.Response.StatusCode = body.Status;
            return;
        }
        var query = ParseQuery(body.Document);
        if (query is null)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is not { } target)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        if (await r.CheckIfAsync(resolved).ConfigureAwait(false) != 0)
            return;

        var wantsLocks = query.Kind == Kind.AllProp || (query.Kind == Kind.Prop && query.Names.Contains(DavProperties.LockDiscovery));
        StatFs? usage = null;
        if (query.Kind == Kind.Prop && (query.Wants(DavProperties.QuotaAvailable) || query.Wants(DavProperties.QuotaUsed)))
        {
            var statfs = await r.Fs.StatFsAsync(r.Ct).ConfigureAwait(false);
            if (statfs.Ok)
                usage = statfs.Value;
        }
        var ms = new MultistatusWriter(r.Response, r.Ct);
        var locks = wantsLocks ? await r.CoveringLocksAsync(resolved).ConfigureAwait(false) : null;
        var targetDead = await DeadPropertiesAsync(r, query, [target]).ConfigureAwait(false);
        await WriteResourceAsync(r, ms, query, resolved.Path, target, locks, usage, targetDead.GetValueOrDefault(target.Ino)).ConfigureAwait(false);
        if (target.Type == FileType.Directory && depth != "0")
        {
            // Members inherit the depth-infinity locks that cover the collection, and the collection's own.
            var queue = new Queue<(DavPath Path, InodeAttr Attr, List<CoveringLock>? Inherited)>();
            queue.Enqueue((resolved.Path, target, locks?.Where(l => l.Lock.Depth == -1).ToList()));
            while (queue.TryDequeue(out var dir))
                await WriteMembersAsync(r, ms, query, dir.Path, dir.Attr, dir.Inherited, usage, infinite ? queue : null).ConfigureAwait(false);
        }
        await ms.CompleteAsync().ConfigureAwait(false);
    }

    private static async Task WriteMembersAsync(
        DavRequest r, MultistatusWriter ms, Query query, DavPath dirPath, InodeAttr dir, List<CoveringLock>? inherited, StatFs? usage,
        Queue<(DavPath, InodeAttr, List<CoveringLock>?)>? descend)
    {
        long cookie = 0;
        while (true)
        {
            var page = await r.Fs.ReadDirAsync(r.Caller, dir.Ino, cookie, PageSize, plus: true, r.Ct).ConfigureAwait(false);
            if (!page.Ok)
                return;
            var members = new List<(string Name, InodeAttr Attr)>();
            foreach (var entry in page.Value.Entries)
            {
                cookie = entry.Cookie;
                if (entry.Name is "." or "..")
                    continue;
                var attr = entry.Attr;
                if (attr is null)
                {
                    var got = await r.Fs.GetAttrAsync(entry.Ino, r.Ct).ConfigureAwait(false);
                    if (!got.Ok)
                        continue;
                    attr = got.Value;
                }
                members.Add((entry.Name, attr));
            }
            // The dead properties of the whole page in one metadata round trip, not one (or more) per member.
            var dead = await DeadPropertiesAsync(r, query, [.. members.Select(m => m.Attr)]).ConfigureAwait(false);
            foreach (var (name, attr) in members)
            {
                var path = dirPath.Child(name);
                List<CoveringLock>? locks = null;
                if (inherited is not null)
                {
                    locks = [.. inherited];
                    foreach (var held in await r.LocksOfAsync(attr.Ino).ConfigureAwait(false))
                        if (held.Kind == LockKind.WebDav)
                            locks.Add(new CoveringLock(held, attr.Ino, path, attr.Type == FileType.Directory));
                }
                await WriteResourceAsync(r, ms, query, path, attr, locks, usage, dead.GetValueOrDefault(attr.Ino)).ConfigureAwait(false);
                if (descend is not null && attr.Type == FileType.Directory)
                    descend.Enqueue((path, attr, locks?.Where(l => l.Lock.Depth == -1).ToList()));
            }
            if (page.Value.Eof || page.Value.Entries.Count == 0)
                return;
        }
    }

    private static Query? ParseQuery(XDocument? document)
    {
        if (document is null)
            return new Query(Kind.AllProp, []);
        var root = document.Root!;
        if (root.Name != DavXml.Propfind)
            return null;
        if (root.Element(DavXml.PropName) is not null)
            return new Query(Kind.PropName, []);
        if (root.Element(DavXml.AllProp) is not null)
            return new Query(Kind.AllProp, [.. root.Element(DavXml.Include)?.Elements().Select(e => e.Name).Distinct() ?? []]);
        if (root.Element(DavXml.Prop) is { } prop)
            return new Query(Kind.Prop, [.. prop.Elements().Select(e => e.Name).Distinct()]);
        return null;
    }

    private static async Task WriteResourceAsync(DavRequest r, MultistatusWriter ms, Query query, DavPath path, InodeAttr attr,
        IReadOnlyList<CoveringLock>? locks, StatFs? usage, IReadOnlyList<DeadProperty>? dead)
    {
        dead ??= [];
        var w = ms.Xml;
        var context = new DavProperties.Context(r, path, attr, locks, usage);
        var collection = attr.Type == FileType.Directory;
        w.WriteStartElement("response", DavXml.DavNamespace);
        w.WriteElementString("href", DavXml.DavNamespace, r.Href(path, collection));
        switch (query.Kind)
        {
            case Kind.PropName:
            {
                w.WriteStartElement("propstat", DavXml.DavNamespace);
                w.WriteStartElement("prop", DavXml.DavNamespace);
                foreach (var name in DavProperties.AllPropLive)
                    if (!(collection && (name == DavProperties.ContentLength || name == DavProperties.ContentType)))
                        w.WriteElementString(name.LocalName, name.NamespaceName, "");
                foreach (var property in dead)
                    w.WriteElementString(property.Name.LocalName, property.Name.NamespaceName, "");
                w.WriteEndElement();
                w.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(200));
                w.WriteEndElement();
                break;
            }
            case Kind.AllProp:
            {
                w.WriteStartElement("propstat", DavXml.DavNamespace);
                w.WriteStartElement("prop", DavXml.DavNamespace);
                foreach (var name in DavProperties.AllPropLive)
                    DavProperties.TryWriteLive(w, name, context);
                foreach (var name in query.Names)
                    if (!DavProperties.AllPropLive.Contains(name))
                        DavProperties.TryWriteLive(w, name, context);
                foreach (var property in dead)
                    if (property.Value is { } value)
                        w.WriteRaw(Encoding.UTF8.GetString(value));
                w.WriteEndElement();
                w.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(200));
                w.WriteEndElement();
                break;
            }
            default:
            {
                var found = new List<(XName Name, byte[]? Dead)>();
                var missing = new List<XName>();
                foreach (var name in query.Names)
                {
                    if (DavProperties.IsLive(name))
                    {
                        if (DavProperties.Has(name, context))
                            found.Add((name, null));
                        else
                            missing.Add(name);
                        continue;
                    }
                    if (dead.FirstOrDefault(p => p.Name == name).Value is { } value)
                        found.Add((name, value));
                    else
                        missing.Add(name);
                }
                if (found.Count > 0 || missing.Count == 0)
                {
                    w.WriteStartElement("propstat", DavXml.DavNamespace);
                    w.WriteStartElement("prop", DavXml.DavNamespace);
                    foreach (var (name, stored) in found)
                    {
                        if (stored is null)
                            DavProperties.TryWriteLive(w, name, context);
                        else
                            w.WriteRaw(Encoding.UTF8.GetString(stored));
                    }
                    w.WriteEndElement();
                    w.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(200));
                    w.WriteEndElement();
                }
                if (missing.Count > 0)
                {
                    w.WriteStartElement("propstat", DavXml.DavNamespace);
                    w.WriteStartElement("prop", DavXml.DavNamespace);
                    foreach (var name in missing)
                        w.WriteElementString(name.LocalName, name.NamespaceName, "");
                    w.WriteEndElement();
                    w.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(404));
                    w.WriteEndElement();
                }
                break;
            }
        }
        w.WriteEndElement();
        await ms.FlushIfFullAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The dead properties of each resource, read in one call when the query needs them; resources without any (or
    /// whose properties cannot be read) are left out.
    /// </summary>
    private static async Task<IReadOnlyDictionary<ulong, IReadOnlyList<DeadProperty>>> DeadPropertiesAsync(
        DavRequest r, Query query, IReadOnlyList<InodeAttr> resources)
    {
        var properties = new Dictionary<ulong, IReadOnlyList<DeadProperty>>();
        if (!query.WantsDead || resources.Count == 0)
            return properties;
        var stored = await r.Fs.GetXattrsAsync(r.Caller, resources, DavProperties.XattrPrefix, r.Ct).ConfigureAwait(false);
        if (!stored.Ok)
            return properties;
        foreach (var (ino, xattrs) in stored.Value)
        {
            var list = new List<DeadProperty>();
            foreach (var x in xattrs)
                if (DavProperties.FromXattrName(x.Name) is { } name && !DavProperties.IsLive(name))
                    list.Add(new DeadProperty(name, x.Value));
            properties[ino] = list;
        }
        return properties;
    }
}
