using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>
/// LOCK and UNLOCK on the shared lock manager, so WebDAV locks conflict with NFS and FUSE locks on the same file. A lock on
/// an unmapped URL creates an empty file (201); a LOCK without a body refreshes the lock named in the If header.
/// </summary>
public static class LockUnlock
{
    public static async Task LockAsync(DavRequest r)
    {
        var body = await DavXml.ReadBodyAsync(r.Request, r.Options.MaxXmlBodyBytes, r.Ct).ConfigureAwait(false);
        if (!body.Ok)
        {
            r.Response.StatusCode = body.Status;
            return;
        }
        var timeout = ParseTimeout(r.Request.Headers["Timeout"].ToString(), r.Options);
        if (body.Document is null)
        {
            await RefreshAsync(r, timeout).ConfigureAwait(false);
            return;
        }
        var info = body.Document.Root!;
        var scope = info.Element(DavXml.LockScope)?.Elements().FirstOrDefault()?.Name;
        var type = info.Element(DavXml.LockType)?.Elements().FirstOrDefault()?.Name;
        if (info.Name != DavXml.LockInfo || (scope != DavXml.Exclusive && scope != DavXml.Shared) || type != DavXml.Write)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var mode = scope == DavXml.Exclusive ? LockMode.Exclusive : LockMode.Shared;
        var depthHeader = r.Request.Headers["Depth"].ToString().Trim();
        if (depthHeader.Length > 0 && depthHeader != "0" && !depthHeader.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var depth = depthHeader == "0" ? 0 : -1;
        var owner = info.Element(DavXml.Owner) is { } o ? o.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces) : null;

        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (!resolved.Exists && (resolved.Parent is null || resolved.Error != Errno.ENOENT))
        {
            r.Response.StatusCode = resolved.Error is Errno.ENOENT or Errno.ENOTDIR ? StatusCodes.Status409Conflict : DavStatus.FromErrno(resolved.Error);
            return;
        }
        if (await r.CheckIfAsync(resolved).ConfigureAwait(false) != 0)
            return;
        // Locks of ancestors that cover this resource: an exclusive one, or any if this one is exclusive, is a conflict.
        var covering = await r.CoveringLocksAsync(resolved).ConfigureAwait(false);
        var conflict = covering.FirstOrDefault(l => l.Ino != resolved.Target?.Ino && (l.Lock.Mode == LockMode.Exclusive || mode == LockMode.Exclusive));
        if (conflict.Lock is not null)
        {
            await DavXml.WriteErrorAsync(r.Response, DavStatus.Locked, "no-conflicting-lock", [r.Href(conflict.Root, conflict.Collection)], r.Ct).ConfigureAwait(false);
            return;
        }
        if (resolved.Target is { Type: FileType.Directory } dir && depth == -1)
        {
            var below = await FindConflictBelowAsync(r, r.Path, dir, mode).ConfigureAwait(false);
            if (below is not null)
            {
                await DavXml.WriteErrorAsync(r.Response, DavStatus.Locked, "no-conflicting-lock", [below], r.Ct).ConfigureAwait(false);
                return;
            }
        }

        var created = false;
        var target = resolved.Target;
        if (target is null)
        {
            if (await r.CheckWriteAsync(resolved, membership: true).ConfigureAwait(false) != 0)
                return;
            var made = await r.Fs.CreateAsync(r.Caller, resolved.Parent!.Ino, r.Path.Name, r.Options.FileMode,
                OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, r.Ct).ConfigureAwait(false);
            if (!made.Ok)
            {
                r.Response.StatusCode = DavStatus.FromErrno(made.Error);
                return;
            }
            await r.Fs.ReleaseAsync(made.Value.Handle, CancellationToken.None).ConfigureAwait(false);
            target = made.Value.Attr;
            created = true;
        }
        else
        {
            // Taking a lock changes nothing, but it needs write permission, as it would stop others writing.
            var access = await r.Fs.AccessAsync(r.Caller, target.Ino, AccessMode.Write, r.Ct).ConfigureAwait(false);
            if (access != Errno.OK)
            {
                r.Response.StatusCode = DavStatus.FromErrno(access);
                return;
            }
        }
        var locked = await r.Fs.Locks.LockWebDavAsync(target.Ino, r.LockOwner, mode, target.Type == FileType.Directory ? depth : 0,
            timeout, owner, r.Ct).ConfigureAwait(false);
        if (!locked.Ok)
        {
            if (created)
                await r.Fs.UnlinkAsync(r.Caller, resolved.Parent!.Ino, r.Path.Name, CancellationToken.None).ConfigureAwait(false);
            if (locked.Error == Errno.EAGAIN)
                await DavXml.WriteErrorAsync(r.Response, DavStatus.Locked, "no-conflicting-lock", [r.Href(r.Path, target.Type == FileType.Directory)], r.Ct).ConfigureAwait(false);
            else
                r.Response.StatusCode = DavStatus.FromErrno(locked.Error);
            return;
        }
        r.Response.Headers["Lock-Token"] = "<" + locked.Value.Token + ">";
        await WriteLockResponseAsync(r, new CoveringLock(locked.Value, target.Ino, r.Path, target.Type == FileType.Directory),
            created ? StatusCodes.Status201Created : StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary>A LOCK without a body: restarts the timeout of the lock the If header names among those covering the resource.</summary>
    private static async Task RefreshAsync(DavRequest r, TimeSpan timeout)
    {
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is null)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        if (r.If is null)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        if (await r.CheckIfAsync(resolved).ConfigureAwait(false) != 0)
            return;
        var tokens = r.SubmittedTokens;
        var covering = await r.CoveringLocksAsync(resolved).ConfigureAwait(false);
        var match = covering.FirstOrDefault(l => tokens.Contains(l.Lock.Token!));
        if (match.Lock is null)
        {
            await DavXml.WriteErrorAsync(r.Response, StatusCodes.Status412PreconditionFailed, "lock-token-matches-request-uri", null, r.Ct).ConfigureAwait(false);
            return;
        }
        var refreshed = await r.Fs.Locks.RefreshWebDavAsync(match.Ino, match.Lock.Token!, timeout, r.Ct).ConfigureAwait(false);
        if (!refreshed.Ok)
        {
            r.Response.StatusCode = refreshed.Error == Errno.ENOLCK ? StatusCodes.Status412PreconditionFailed : DavStatus.FromErrno(refreshed.Error);
            return;
        }
        await WriteLockResponseAsync(r, match with { Lock = refreshed.Value }, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    public static async Task UnlockAsync(DavRequest r)
    {
        var header = r.Request.Headers["Lock-Token"].ToString().Trim();
        // Explorer sends the token bare; RFC 4918 wants it in angle brackets.
        if (header.StartsWith('<') && header.EndsWith('>'))
            header = header[1..^1].Trim();
        if (header.Length == 0)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is null)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        var covering = await r.CoveringLocksAsync(resolved).ConfigureAwait(false);
        var match = covering.FirstOrDefault(l => string.Equals(l.Lock.Token, header, StringComparison.Ordinal));
        if (match.Lock is null)
        {
            await DavXml.WriteErrorAsync(r.Response, StatusCodes.Status409Conflict, "lock-token-matches-request-uri", null, r.Ct).ConfigureAwait(false);
            return;
        }
        if (r.Options.UsersFile is not null && match.Lock.Owner.Client != r.Principal)
        {
            r.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var unlocked = await r.Fs.Locks.UnlockWebDavAsync(match.Ino, header, r.Ct).ConfigureAwait(false);
        r.Response.StatusCode = unlocked switch
        {
            Errno.OK => StatusCodes.Status204NoContent,
            Errno.ENOLCK => StatusCodes.Status409Conflict,
            _ => DavStatus.FromErrno(unlocked),
        };
    }

    private static async Task WriteLockResponseAsync(DavRequest r, CoveringLock held, int status)
    {
        using var buffer = new MemoryStream();
        using (var w = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = DavXml.Utf8NoBom }))
        {
            w.WriteStartDocument();
            w.WriteStartElement("D", "prop", DavXml.DavNamespace);
            DavProperties.WriteLockDiscovery(w, r, [held]);
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        r.Response.StatusCode = status;
        r.Response.ContentType = "application/xml; charset=utf-8";
        r.Response.ContentLength = buffer.Length;
        await r.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), r.Ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The Timeout header ("Second-N", "Infinite", a comma-separated list of preferences): the first one understood, capped at
    /// the configured maximum; the default when there is none.
    /// </summary>
    public static TimeSpan ParseTimeout(string header, WebDavOptions options)
    {
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("Infinite", StringComparison.OrdinalIgnoreCase))
                return options.MaxLockTimeout;
            if (part.StartsWith("Second-", StringComparison.OrdinalIgnoreCase) &&
                long.TryParse(part.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                return seconds <= 0 ? options.DefaultLockTimeout : TimeSpan.FromSeconds(Math.Min(seconds, (long)options.MaxLockTimeout.TotalSeconds));
        }
        return options.DefaultLockTimeout;
    }

    /// <summary>The href of a member of the collection holding a lock a new depth-infinity lock would conflict with; null when none.</summary>
    private static async Task<string?> FindConflictBelowAsync(DavRequest r, DavPath path, InodeAttr dir, LockMode mode)
    {
        foreach (var (name, attr) in await Delete.ListAsync(r, dir.Ino).ConfigureAwait(false))
        {
            var child = path.Child(name);
            foreach (var held in await r.LocksOfAsync(attr.Ino).ConfigureAwait(false))
                if (held.Mode == LockMode.Exclusive || mode == LockMode.Exclusive)
                    return r.Href(child, attr.Type == FileType.Directory);
            if (attr.Type == FileType.Directory && await FindConflictBelowAsync(r, child, attr, mode).ConfigureAwait(false) is { } found)
                return found;
        }
        return null;
    }
}
