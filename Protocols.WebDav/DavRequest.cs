using System.Globalization;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav;

/// <summary>Where a path led: the inodes from the root down to the target (or to its parent when the target does not exist).</summary>
public sealed class Resolved
{
    public required DavPath Path { get; init; }

    /// <summary>Inode numbers along the path from the root; the last one is the target when it exists.</summary>
    public required IReadOnlyList<ulong> Inodes { get; init; }

    public InodeAttr? Target { get; init; }

    /// <summary>The target's parent directory, when it exists (even if the target does not).</summary>
    public InodeAttr? Parent { get; init; }

    /// <summary>OK when the target exists; ENOENT when only it is missing; another errno when the walk failed earlier.</summary>
    public Errno Error { get; init; }

    public bool Exists => Target is not null;

    public bool IsCollection => Target?.Type == FileType.Directory;

    /// <summary>The ancestors of the target (or of the missing name), root first.</summary>
    public IEnumerable<(DavPath Path, ulong Ino)> Ancestors
    {
        get
        {
            var count = Exists ? Inodes.Count - 1 : Inodes.Count;
            var path = DavPath.Root;
            for (var i = 0; i < count; i++)
            {
                yield return (path, Inodes[i]);
                if (i < Path.Names.Count)
                    path = path.Child(Path.Names[i]);
            }
        }
    }
}

/// <summary>A WebDAV lock that applies to a resource, with the path of the resource it was taken on (its lock root).</summary>
public readonly record struct CoveringLock(LockRecord Lock, ulong Ino, DavPath Root, bool Collection);

/// <summary>One request being served: who asks, what path it names, and the checks every method shares.</summary>
public sealed class DavRequest
{
    private Dictionary<DavPath, Resolved>? _resolved;
    private Dictionary<ulong, List<LockRecord>>? _locks;
    private bool _ifParsed;
    private IfHeader? _if;

    public required HttpContext Http { get; init; }
    public required FileSystem Fs { get; init; }
    public required WebDavOptions Options { get; init; }
    public required Caller Caller { get; init; }
    /// <summary>The user name, or the remote address when authentication is off; WebDAV locks are owned by it.</summary>
    public required string Principal { get; init; }
    /// <summary>The URL prefix, starting and ending with '/'.</summary>
    public required string Prefix { get; init; }
    public required DavPath Path { get; init; }
    public required LockOwner LockOwner { get; init; }

    public HttpRequest Request => Http.Request;
    public HttpResponse Response => Http.Response;
    public CancellationToken Ct => Http.RequestAborted;

    public string Href(DavPath path, bool collection) => path.ToHref(Prefix, collection);

    /// <summary>Walks the path from the root with the request's caller, so search permission on every directory applies.</summary>
    public async ValueTask<Resolved> ResolveAsync(DavPath path)
    {
        _resolved ??= [];
        if (_resolved.TryGetValue(path, out var cached))
            return cached;
        var resolved = await WalkAsync(path).ConfigureAwait(false);
        _resolved[path] = resolved;
        return resolved;
    }

    /// <summary>Forgets resolutions and locks read before the tree or its locks changed under them.</summary>
    public void Invalidate()
    {
        _resolved?.Clear();
        _locks = null;
    }

    /// <summary>
    /// The live locks (of every kind) on an inode, from one snapshot of the volume's locks per request: a request that
    /// looks at many inodes (a listing, a tree delete, the ancestors of a path) reads the locks once.
    /// </summary>
    public async ValueTask<IReadOnlyList<LockRecord>> LocksOfAsync(ulong ino)
    {
        if (_locks is null)
        {
            var snapshot = new Dictionary<ulong, List<LockRecord>>();
            foreach (var (lockedIno, held) in await Fs.Locks.ListLiveAsync(Ct).ConfigureAwait(false))
            {
                if (!snapshot.TryGetValue(lockedIno, out var list))
                    snapshot[lockedIno] = list = [];
                list.Add(held);
            }
            _locks = snapshot;
        }
        return _locks.TryGetValue(ino, out var found) ? found : [];
    }

    /// <remarks>
    /// The root's own attributes are read only when the path names the root or one of its members: deeper down, the walk
    /// needs nothing of the root but its inode number, and a lookup in it checks search permission anyway.
    /// </remarks>
    private async ValueTask<Resolved> WalkAsync(DavPath path)
    {
        var inodes = new List<ulong>(path.Names.Count + 1) { FsLimits.RootIno };
        InodeAttr? current = null;
        InodeAttr? parent = null;
        if (path.Names.Count < 2)
        {
            var root = await Fs.GetAttrAsync(FsLimits.RootIno, Ct).ConfigureAwait(false);
            if (!root.Ok)
                return new Resolved { Path = path, Inodes = [], Error = root.Error };
            current = root.Value;
        }
        for (var i = 0; i < path.Names.Count; i++)
        {
            var last = i == path.Names.Count - 1;
            if (current is { Type: not FileType.Directory })
                return new Resolved { Path = path, Inodes = inodes, Error = Errno.ENOTDIR };
            var next = await Fs.LookupAsync(Caller, inodes[^1], path.Names[i], Ct).ConfigureAwait(false);
            if (!next.Ok)
                return new Resolved { Path = path, Inodes = inodes, Error = next.Error, Parent = last ? current : null };
            inodes.Add(next.Value.Ino);
            parent = current;
            current = next.Value;
        }
        return new Resolved
        {
            Path = path,
            Inodes = inodes,
            Target = current,
            Parent = parent,
            Error = Errno.OK,
        };
    }

    // ---- entity tags and HTTP conditions ----

    /// <summary>A strong entity tag: it changes whenever the content may have (new inode, new mtime or new size).</summary>
    public static string ETag(InodeAttr attr) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{attr.Ino:x}-{attr.Mtime:x}-{attr.Size:x}\"");

    /// <summary>
    /// Evaluates If-Match, If-None-Match, If-Unmodified-Since and (for reads) If-Modified-Since against the target.
    /// Returns 0 to go on, 304 or 412.
    /// </summary>
    public int CheckHttpConditions(InodeAttr? target, bool read)
    {
        var headers = Request.Headers;
        var etag = target is null ? null : ETag(target);
        var ifMatch = headers.IfMatch.ToString();
        if (ifMatch.Length > 0)
        {
            if (etag is null || !TagListMatches(ifMatch, etag))
                return StatusCodes.Status412PreconditionFailed;
        }
        else if (target is not null && TryDate(headers.IfUnmodifiedSince, out var unmodified) && Seconds(target.Mtime) > unmodified)
        {
            return StatusCodes.Status412PreconditionFailed;
        }
        var ifNoneMatch = headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0)
        {
            if (etag is not null && TagListMatches(ifNoneMatch, etag))
                return read ? StatusCodes.Status304NotModified : StatusCodes.Status412PreconditionFailed;
        }
        else if (read && target is not null && TryDate(headers.IfModifiedSince, out var modified) && Seconds(target.Mtime) <= modified)
        {
            return StatusCodes.Status304NotModified;
        }
        return 0;
    }

    private static bool TagListMatches(string list, string etag)
    {
        foreach (var part in list.Split(','))
        {
            var tag = part.Trim();
            if (tag == "*" || tag == etag)
                return true;
        }
        return false;
    }

    internal static long Seconds(long nanos) => UnixTime.Split(nanos).Seconds;

    internal static bool TryDate(string? value, out long unixSeconds)
    {
        unixSeconds = 0;
        if (string.IsNullOrEmpty(value) ||
            !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            return false;
        unixSeconds = date.ToUnixTimeSeconds();
        return true;
    }

    // ---- the If header and locks ----

    /// <summary>The parsed If header; null when absent. <see cref="IfMalformed"/> tells a bad header from none.</summary>
    public IfHeader? If
    {
        get
        {
            if (!_ifParsed)
            {
                _ifParsed = true;
                var value = Request.Headers["If"].ToString();
                if (value.Length > 0)
                {
                    _if = IfHeader.Parse(value);
                    IfMalformed = _if is null;
                }
            }
            return _if;
        }
    }

    public bool IfMalformed { get; private set; }

    public IReadOnlyCollection<string> SubmittedTokens => If is { } h ? [.. h.SubmittedTokens] : [];

    /// <summary>The WebDAV locks that apply to the resolved resource: its own, and depth-infinity locks of its ancestors.</summary>
    public async ValueTask<List<CoveringLock>> CoveringLocksAsync(Resolved resolved)
    {
        var result = new List<CoveringLock>();
        foreach (var (path, ino) in resolved.Ancestors)
            foreach (var held in await LocksOfAsync(ino).ConfigureAwait(false))
                if (held.Kind == LockKind.WebDav && held.Depth == -1)
                    result.Add(new CoveringLock(held, ino, path, true));
        if (resolved.Target is { } target)
            foreach (var held in await LocksOfAsync(target.Ino).ConfigureAwait(false))
                if (held.Kind == LockKind.WebDav)
                    result.Add(new CoveringLock(held, target.Ino, resolved.Path, target.Type == FileType.Directory));
        return result;
    }

    /// <summary>Whether the If header holds (true when there is none). Each list is checked against the resource it is tagged with.</summary>
    public async ValueTask<bool> IfHoldsAsync(Resolved requestResource)
    {
        if (If is not { } header)
            return true;
        foreach (var list in header.Lists)
        {
            var resource = requestResource;
            if (list.Resource is not null)
            {
                var tagged = ParseUrl(list.Resource);
                if (tagged is null)
                    continue;
                resource = tagged.Equals(requestResource.Path) ? requestResource : await ResolveAsync(tagged).ConfigureAwait(false);
            }
            if (await ListHoldsAsync(list, resource).ConfigureAwait(false))
                return true;
        }
        return false;
    }

    private async ValueTask<bool> ListHoldsAsync(IfList list, Resolved resource)
    {
        List<CoveringLock>? locks = null;
        foreach (var condition in list.Conditions)
        {
            bool holds;
            if (condition.Token is not null)
            {
                locks ??= await CoveringLocksAsync(resource).ConfigureAwait(false);
                holds = locks.Any(l => string.Equals(l.Lock.Token, condition.Token, StringComparison.Ordinal));
            }
            else
            {
                holds = IfHeader.ETagMatches(condition.ETag!, resource.Target is null ? null : ETag(resource.Target));
            }
            if (holds == condition.Not)
                return false;
        }
        return true;
    }

    /// <summary>
    /// The checks before a change: the If header must hold (else 412, or 400 when malformed) and every lock on the resource
    /// must have its token submitted (else 423). <paramref name="membership"/> adds the locks of the parent collection, whose
    /// member list the change alters. Returns 0 when the change may go ahead; otherwise the response has been written.
    /// </summary>
    public async ValueTask<int> CheckWriteAsync(Resolved resolved, bool membership)
    {
        var status = await CheckIfAsync(resolved).ConfigureAwait(false);
        if (status != 0)
            return status;
        var locks = await CoveringLocksAsync(resolved).ConfigureAwait(false);
        if (membership && !resolved.Path.IsRoot)
        {
            // The walk to the resource went through its parent; walk again only when it stopped short of it.
            var parent = resolved.Parent ?? (await ResolveAsync(resolved.Path.Parent).ConfigureAwait(false)).Target;
            if (parent is not null)
                foreach (var held in await LocksOfAsync(parent.Ino).ConfigureAwait(false))
                    if (held.Kind == LockKind.WebDav && held.Depth == 0)
                        locks.Add(new CoveringLock(held, parent.Ino, resolved.Path.Parent, true));
        }
        var blocking = Unsatisfied(locks, SubmittedTokens);
        if (blocking.Count == 0)
            return 0;
        await DavXml.WriteErrorAsync(Response, DavStatus.Locked, "lock-token-submitted",
            blocking.Select(l => Href(l.Root, l.Collection)).Distinct(), Ct).ConfigureAwait(false);
        return DavStatus.Locked;
    }

    /// <summary>The locks whose token was not submitted: every exclusive one, and shared ones when none of them was.</summary>
    public static List<CoveringLock> Unsatisfied(IReadOnlyList<CoveringLock> locks, IReadOnlyCollection<string> tokens)
    {
        var missing = locks.Where(l => l.Lock.Mode == LockMode.Exclusive && !tokens.Contains(l.Lock.Token!)).ToList();
        var shared = locks.Where(l => l.Lock.Mode == LockMode.Shared).ToList();
        if (shared.Count > 0 && !shared.Any(l => tokens.Contains(l.Lock.Token!)))
            missing.AddRange(shared);
        return missing;
    }

    /// <summary>Checks only the If header (reads and the first step of writes); writes 400 or 412 and returns it when it fails.</summary>
    public async ValueTask<int> CheckIfAsync(Resolved resolved)
    {
        if (If is null && !IfMalformed)
            return 0;
        if (IfMalformed)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return StatusCodes.Status400BadRequest;
        }
        if (await IfHoldsAsync(resolved).ConfigureAwait(false))
            return 0;
        Response.StatusCode = StatusCodes.Status412PreconditionFailed;
        return StatusCodes.Status412PreconditionFailed;
    }

    /// <summary>A URL from a header (Destination, If tags): absolute or a path, parsed to a path under the prefix; null otherwise.</summary>
    public DavPath? ParseUrl(string url)
    {
        var path = url;
        if (Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            if (!SameHost(absolute))
                return null;
            // The raw text after the authority, not Uri's view of it: Uri collapses dot segments the path check must see.
            var authorityEnd = url.IndexOf('/', url.IndexOf("//", StringComparison.Ordinal) + 2);
            path = authorityEnd < 0 ? "/" : url[authorityEnd..];
        }
        return DavPath.Parse(path, Prefix);
    }

    /// <summary>Whether an absolute URL names this server (host and port as the client addressed it).</summary>
    public bool SameHost(Uri uri)
    {
        var host = Request.Host;
        if (!string.Equals(uri.Host, host.Host, StringComparison.OrdinalIgnoreCase) &&
            !(uri.IsLoopback && IsLoopbackName(host.Host)))
            return false;
        var port = host.Port ?? (Request.IsHttps ? 443 : 80);
        return uri.Port == port;
    }

    private static bool IsLoopbackName(string host) =>
        host is "localhost" or "127.0.0.1" or "[::1]" or "::1";
}
