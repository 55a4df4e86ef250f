using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>DELETE: removes a file, or a collection with everything under it, reporting members that could not go in a 207.</summary>
public static class Delete
{
    private const int PageSize = 1024;

    public static async Task HandleAsync(DavRequest r)
    {
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is not { } target)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        if (r.Path.IsRoot)
        {
            r.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var depth = r.Request.Headers["Depth"].ToString();
        if (target.Type == FileType.Directory && depth.Length > 0 && !depth.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        if (await r.CheckWriteAsync(resolved, membership: true).ConfigureAwait(false) != 0)
            return;
        var errors = new List<(DavPath Path, bool Collection, int Status)>();
        await RemoveTreeAsync(r, resolved.Parent!.Ino, r.Path, target, errors, checkMemberLocks: false).ConfigureAwait(false);
        await ReportAsync(r, errors, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    /// <summary>Answers <paramref name="success"/> when nothing failed, the failure's own status when only the target failed, else a 207.</summary>
    internal static async Task ReportAsync(DavRequest r, List<(DavPath Path, bool Collection, int Status)> errors, int success)
    {
        if (errors.Count == 0)
        {
            r.Response.StatusCode = success;
            return;
        }
        if (errors.Count == 1 && errors[0].Path.Equals(r.Path))
        {
            if (errors[0].Status == DavStatus.Locked)
                await DavXml.WriteErrorAsync(r.Response, DavStatus.Locked, "lock-token-submitted", [r.Href(r.Path, errors[0].Collection)], r.Ct).ConfigureAwait(false);
            else
                r.Response.StatusCode = errors[0].Status;
            return;
        }
        var ms = new MultistatusWriter(r.Response, r.Ct);
        foreach (var (path, collection, status) in errors)
        {
            ms.WriteStatus(r.Href(path, collection), status, status == DavStatus.Locked ? "lock-token-submitted" : null);
            await ms.FlushIfFullAsync().ConfigureAwait(false);
        }
        await ms.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Removes <paramref name="attr"/> (named by the last name of <paramref name="path"/> in <paramref name="parent"/>) and,
    /// for a collection, everything below it, depth first. A member that cannot go is reported; its ancestors then stay
    /// without a report of their own (RFC 4918 section 9.6.1). The WebDAV locks of removed inodes go with them.
    /// </summary>
    internal static async Task<bool> RemoveTreeAsync(
        DavRequest r, ulong parent, DavPath path, InodeAttr attr, List<(DavPath Path, bool Collection, int Status)> errors, bool checkMemberLocks)
    {
        var collection = attr.Type == FileType.Directory;
        var locks = await r.LocksOfAsync(attr.Ino).ConfigureAwait(false);
        var davLocks = locks.Where(l => l.Kind == LockKind.WebDav).ToList();
        if (checkMemberLocks && davLocks.Count > 0 &&
            DavRequest.Unsatisfied([.. davLocks.Select(l => new CoveringLock(l, attr.Ino, path, collection))], r.SubmittedTokens).Count > 0)
        {
            errors.Add((path, collection, DavStatus.Locked));
            return false;
        }
        if (collection)
        {
            var ok = true;
            foreach (var child in await ListAsync(r, attr.Ino).ConfigureAwait(false))
                ok &= await RemoveTreeAsync(r, attr.Ino, path.Child(child.Name), child.Attr, errors, checkMemberLocks: true).ConfigureAwait(false);
            if (!ok)
                return false;
        }
        var removed = collection
            ? await r.Fs.RmdirAsync(r.Caller, parent, path.Name, r.Ct).ConfigureAwait(false)
            : await r.Fs.UnlinkAsync(r.Caller, parent, path.Name, r.Ct).ConfigureAwait(false);
        if (removed != Errno.OK)
        {
            errors.Add((path, collection, DavStatus.FromErrno(removed)));
            return false;
        }
        foreach (var held in davLocks)
            await r.Fs.Locks.UnlockWebDavAsync(attr.Ino, held.Token!, r.Ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>All members of a directory with their attributes, read before any is changed.</summary>
    internal static async Task<List<(string Name, InodeAttr Attr)>> ListAsync(DavRequest r, ulong dir)
    {
        var members = new List<(string, InodeAttr)>();
        long cookie = 0;
        while (true)
        {
            var page = await r.Fs.ReadDirAsync(r.Caller, dir, cookie, PageSize, plus: true, r.Ct).ConfigureAwait(false);
            if (!page.Ok)
                return members;
            foreach (var e in page.Value.Entries)
            {
                cookie = e.Cookie;
                if (e.Name is "." or "..")
                    continue;
                var attr = e.Attr;
                if (attr is null)
                {
                    var got = await r.Fs.GetAttrAsync(e.Ino, r.Ct).ConfigureAwait(false);
                    if (!got.Ok)
                        continue;
                    attr = got.Value;
                }
                members.Add((e.Name, attr));
            }
            if (page.Value.Eof || page.Value.Entries.Count == 0)
                return members;
        }
    }
}
