using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>
/// COPY and MOVE. MOVE is one rename in the core (after removing a destination it replaces, when that is a collection);
/// COPY copies data by reference (copy_file_range) and dead properties, recursively for Depth infinity.
/// </summary>
public static class CopyMove
{
    public static async Task HandleAsync(DavRequest r, bool move)
    {
        var destinationHeader = r.Request.Headers["Destination"].ToString();
        if (destinationHeader.Length == 0)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        if (Uri.TryCreate(destinationHeader, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https" && !r.SameHost(absolute))
        {
            r.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }
        var destination = r.ParseUrl(destinationHeader);
        if (destination is null)
        {
            // Outside the served tree (another prefix, or a path that is not safe): nothing here can take it.
            r.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }
        var overwriteHeader = r.Request.Headers["Overwrite"].ToString().Trim();
        if (overwriteHeader.Length > 0 && overwriteHeader is not ("T" or "F" or "t" or "f"))
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var overwrite = overwriteHeader is not ("F" or "f");
        var depthHeader = r.Request.Headers["Depth"].ToString().Trim();
        var deep = depthHeader.Length == 0 || depthHeader.Equals("infinity", StringComparison.OrdinalIgnoreCase);
        if (!deep && (move || depthHeader != "0"))
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var source = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (source.Target is not { } sourceAttr)
        {
            r.Response.StatusCode = DavStatus.FromErrno(source.Error == Errno.ENOTDIR ? Errno.ENOENT : source.Error);
            return;
        }
        if (r.Path.Equals(destination) || (sourceAttr.Type == FileType.Directory && r.Path.Contains(destination)) || destination.IsRoot || r.Path.IsRoot && move)
        {
            r.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var target = await r.ResolveAsync(destination).ConfigureAwait(false);
        if (target.Parent is not { Type: FileType.Directory } parent)
        {
            r.Response.StatusCode = target.Error is Errno.ENOENT or Errno.ENOTDIR ? StatusCodes.Status409Conflict : DavStatus.FromErrno(target.Error);
            return;
        }
        if (target.Error is not (Errno.OK or Errno.ENOENT))
        {
            r.Response.StatusCode = DavStatus.FromErrno(target.Error);
            return;
        }
        if (target.Exists && !overwrite)
        {
            r.Response.StatusCode = StatusCodes.Status412PreconditionFailed;
            return;
        }
        if (move)
        {
            if (await r.CheckWriteAsync(source, membership: true).ConfigureAwait(false) != 0)
                return;
        }
        else if (await r.CheckIfAsync(source).ConfigureAwait(false) != 0)
        {
            return;
        }
        // The If header was checked against the source; the destination needs only its locks' tokens.
        var destinationLocks = await r.CoveringLocksAsync(target).ConfigureAwait(false);
        foreach (var held in await r.LocksOfAsync(parent.Ino).ConfigureAwait(false))
            if (held.Kind == LockKind.WebDav && held.Depth == 0)
                destinationLocks.Add(new CoveringLock(held, parent.Ino, destination.Parent, true));
        var blocking = DavRequest.Unsatisfied(destinationLocks, r.SubmittedTokens);
        if (blocking.Count > 0)
        {
            await DavXml.WriteErrorAsync(r.Response, DavStatus.Locked, "lock-token-submitted",
                blocking.Select(l => r.Href(l.Root, l.Collection)).Distinct(), r.Ct).ConfigureAwait(false);
            return;
        }

        var errors = new List<(DavPath Path, bool Collection, int Status)>();
        var existed = target.Exists;
        if (target.Target is { } replaced)
        {
            // A file moved onto a file is replaced by the rename itself, atomically; anything else is deleted first.
            var renameReplaces = move && replaced.Type != FileType.Directory && sourceAttr.Type != FileType.Directory;
            if (!renameReplaces &&
                !await Delete.RemoveTreeAsync(r, parent.Ino, destination, replaced, errors, checkMemberLocks: true).ConfigureAwait(false))
            {
                await ReportAsync(r, errors, destination).ConfigureAwait(false);
                return;
            }
        }
        var success = existed ? StatusCodes.Status204NoContent : StatusCodes.Status201Created;
        if (move)
        {
            var renamed = await r.Fs.RenameAsync(r.Caller, source.Parent!.Ino, r.Path.Name, parent.Ino, destination.Name, RenameFlags.None, r.Ct).ConfigureAwait(false);
            if (renamed != Errno.OK)
            {
                r.Response.StatusCode = DavStatus.FromErrno(renamed);
                return;
            }
            // Locks belong to the URL they were taken on, not to the resource (RFC 4918 section 7.7).
            foreach (var held in await r.LocksOfAsync(sourceAttr.Ino).ConfigureAwait(false))
                if (held.Kind == LockKind.WebDav)
                    await r.Fs.Locks.UnlockWebDavAsync(sourceAttr.Ino, held.Token!, r.Ct).ConfigureAwait(false);
            r.Response.StatusCode = success;
            return;
        }
        await CopyTreeAsync(r, r.Path, sourceAttr, parent.Ino, destination, deep, errors).ConfigureAwait(false);
        if (errors.Count == 0)
            r.Response.StatusCode = success;
        else
            await ReportAsync(r, errors, destination).ConfigureAwait(false);
    }

    private static async Task ReportAsync(DavRequest r, List<(DavPath Path, bool Collection, int Status)> errors, DavPath destination)
    {
        if (errors.Count == 1 && errors[0].Path.Equals(destination) || errors.Count == 1 && errors[0].Path.Equals(r.Path))
        {
            r.Response.StatusCode = errors[0].Status;
            return;
        }
        var ms = new MultistatusWriter(r.Response, r.Ct);
        foreach (var (path, collection, status) in errors)
            ms.WriteStatus(r.Href(path, collection), status);
        await ms.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Copies one resource (and, when <paramref name="deep"/>, its members) to a name that does not exist.</summary>
    private static async Task CopyTreeAsync(
        DavRequest r, DavPath sourcePath, InodeAttr source, ulong destParent, DavPath destPath, bool deep,
        List<(DavPath Path, bool Collection, int Status)> errors)
    {
        InodeAttr created;
        if (source.Type == FileType.Directory)
        {
            var made = await r.Fs.MkdirAsync(r.Caller, destParent, destPath.Name, source.Mode & 0xFFF, r.Ct).ConfigureAwait(false);
            if (!made.Ok)
            {
                errors.Add((destPath, true, DavStatus.FromErrno(made.Error)));
                return;
            }
            created = made.Value;
        }
        else
        {
            var copied = await CopyFileAsync(r, source, destParent, destPath.Name).ConfigureAwait(false);
            if (!copied.Ok)
            {
                errors.Add((sourcePath, false, DavStatus.FromErrno(copied.Error)));
                return;
            }
            created = copied.Value;
        }
        await CopyDeadPropertiesAsync(r, source.Ino, created.Ino).ConfigureAwait(false);
        if (source.Type != FileType.Directory || !deep)
            return;
        foreach (var (name, attr) in await Delete.ListAsync(r, source.Ino).ConfigureAwait(false))
            await CopyTreeAsync(r, sourcePath.Child(name), attr, created.Ino, destPath.Child(name), deep, errors).ConfigureAwait(false);
    }

    private static async Task<Result<InodeAttr>> CopyFileAsync(DavRequest r, InodeAttr source, ulong destParent, string name)
    {
        if (source.Type == FileType.Symlink)
        {
            var target = await r.Fs.ReadlinkAsync(source.Ino, r.Ct).ConfigureAwait(false);
            return target.Ok ? await r.Fs.SymlinkAsync(r.Caller, destParent, name, target.Value, r.Ct).ConfigureAwait(false) : target.Error;
        }
        var input = await r.Fs.OpenAsync(r.Caller, source.Ino, OpenFlags.ReadOnly, r.Ct).ConfigureAwait(false);
        if (!input.Ok)
            return input.Error;
        try
        {
            var created = await r.Fs.CreateAsync(r.Caller, destParent, name, source.Mode & 0xFFF, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, r.Ct).ConfigureAwait(false);
            if (!created.Ok)
                return created.Error;
            var (attr, output) = created.Value;
            var result = Errno.OK;
            try
            {
                long offset = 0;
                while (offset < source.Size)
                {
                    var n = await r.Fs.CopyFileRangeAsync(input.Value, offset, output, offset, source.Size - offset, r.Ct).ConfigureAwait(false);
                    if (!n.Ok)
                    {
                        result = n.Error;
                        break;
                    }
                    if (n.Value == 0)
                        break;
                    offset += n.Value;
                }
            }
            finally
            {
                var released = await r.Fs.ReleaseAsync(output, CancellationToken.None).ConfigureAwait(false);
                if (result == Errno.OK)
                    result = released;
            }
            if (result != Errno.OK)
            {
                await r.Fs.UnlinkAsync(r.Caller, destParent, name, CancellationToken.None).ConfigureAwait(false);
                return result;
            }
            return attr;
        }
        finally
        {
            await r.Fs.ReleaseAsync(input.Value, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task CopyDeadPropertiesAsync(DavRequest r, ulong from, ulong to)
    {
        var names = await r.Fs.ListXattrAsync(r.Caller, from, r.Ct).ConfigureAwait(false);
        if (!names.Ok)
            return;
        foreach (var name in names.Value)
        {
            if (!name.StartsWith(DavProperties.XattrPrefix, StringComparison.Ordinal))
                continue;
            var value = await r.Fs.GetXattrAsync(r.Caller, from, name, r.Ct).ConfigureAwait(false);
            if (value.Ok)
                await r.Fs.SetXattrAsync(r.Caller, to, name, value.Value, XattrFlags.None, r.Ct).ConfigureAwait(false);
        }
    }
}
