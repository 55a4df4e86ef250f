using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>
/// PUT: streams the body into the volume. A new or replaced file is written under a temporary name in the same collection
/// and renamed over the target only once the whole body is in, so an aborted upload leaves the previous content (or no
/// file) behind. A file that is locked, hard-linked, or in a collection the caller may not create in is written in place
/// instead, because replacing its inode would drop its locks, break its links, or be refused.
/// </summary>
public static class Put
{
    private const string TempPrefix = ".~dav-put-";

    public static async Task HandleAsync(DavRequest r)
    {
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is { Type: FileType.Directory })
        {
            r.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (resolved.Parent is not { } parent || r.Path.IsRoot)
        {
            r.Response.StatusCode = resolved.Error is Errno.ENOENT or Errno.ENOTDIR ? StatusCodes.Status409Conflict : DavStatus.FromErrno(resolved.Error);
            return;
        }
        if (resolved.Error is not (Errno.OK or Errno.ENOENT))
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error);
            return;
        }
        var condition = r.CheckHttpConditions(resolved.Target, read: false);
        if (condition != 0)
        {
            r.Response.StatusCode = condition;
            return;
        }
        if (await r.CheckWriteAsync(resolved, membership: !resolved.Exists).ConfigureAwait(false) != 0)
            return;
        var expected = ExpectedLength(r.Request);
        if (expected > 0)
        {
            var statfs = await r.Fs.StatFsAsync(r.Ct).ConfigureAwait(false);
            if (statfs.Ok && statfs.Value.AvailableBytes < expected - (resolved.Target?.Size ?? 0))
            {
                r.Response.StatusCode = DavStatus.InsufficientStorage;
                return;
            }
        }

        var existing = resolved.Target;
        var inPlace = existing is not null &&
            (existing.Nlink > 1 || existing.Type != FileType.Regular || (await r.Fs.Locks.GetLocksAsync(existing.Ino, r.Ct).ConfigureAwait(false)).Count > 0);
        Errno result;
        if (inPlace)
        {
            result = await WriteInPlaceAsync(r, existing!, expected).ConfigureAwait(false);
        }
        else
        {
            result = await WriteReplacingAsync(r, parent, existing, expected).ConfigureAwait(false);
            if (result == Errno.EACCES && existing is not null)
                result = await WriteInPlaceAsync(r, existing, expected).ConfigureAwait(false);
        }
        if (result != Errno.OK)
        {
            r.Response.StatusCode = DavStatus.FromErrno(result);
            return;
        }
        r.Invalidate();
        var written = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (written.Target is { } attr)
            GetHead.SetValidators(r.Response, attr);
        r.Response.StatusCode = existing is null ? StatusCodes.Status201Created : StatusCodes.Status204NoContent;
    }

    /// <summary>The length the client promised: Content-Length, or X-Expected-Entity-Length for chunked bodies (Finder).</summary>
    private static long ExpectedLength(HttpRequest request)
    {
        if (request.ContentLength is { } length)
            return length;
        var expected = request.Headers["X-Expected-Entity-Length"].ToString();
        return long.TryParse(expected, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : -1;
    }

    private static async Task<Errno> WriteReplacingAsync(DavRequest r, InodeAttr parent, InodeAttr? existing, long expected)
    {
        var tempName = TempPrefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var mode = existing is null ? r.Options.FileMode : existing.Mode & 0xFFF;
        var created = await r.Fs.CreateAsync(r.Caller, parent.Ino, tempName, mode, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, r.Ct).ConfigureAwait(false);
        if (!created.Ok)
            return created.Error;
        var (attr, handle) = created.Value;
        var done = false;
        try
        {
            var (copied, _) = await CopyBodyAsync(r, handle, expected).ConfigureAwait(false);
            var released = await r.Fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            if (copied != Errno.OK)
                return copied;
            if (released != Errno.OK)
                return released;
            if (existing is not null)
                await CarryOverAsync(r, existing, attr).ConfigureAwait(false);
            var renamed = await r.Fs.RenameAsync(r.Caller, parent.Ino, tempName, parent.Ino, r.Path.Name, RenameFlags.None, r.Ct).ConfigureAwait(false);
            if (renamed != Errno.OK)
                return renamed;
            done = true;
            return Errno.OK;
        }
        finally
        {
            if (!done)
                await r.Fs.UnlinkAsync(r.Caller, parent.Ino, tempName, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Gives the new inode the dead properties (and other extended attributes) and the owner of the one it replaces.</summary>
    private static async Task CarryOverAsync(DavRequest r, InodeAttr from, InodeAttr to)
    {
        var names = await r.Fs.ListXattrAsync(r.Caller, from.Ino, r.Ct).ConfigureAwait(false);
        if (names.Ok)
        {
            foreach (var name in names.Value)
            {
                var value = await r.Fs.GetXattrAsync(r.Caller, from.Ino, name, r.Ct).ConfigureAwait(false);
                if (value.Ok)
                    await r.Fs.SetXattrAsync(r.Caller, to.Ino, name, value.Value, XattrFlags.None, r.Ct).ConfigureAwait(false);
            }
        }
        if (from.Uid != to.Uid || from.Gid != to.Gid)
        {
            // Only root may give a file away; for anyone else the new file stays theirs, as with any editor's save-by-rename.
            await r.Fs.SetAttrAsync(r.Caller, to.Ino, new SetAttrRequest(SetAttrMask.Uid | SetAttrMask.Gid, Uid: from.Uid, Gid: from.Gid), r.Ct).ConfigureAwait(false);
        }
    }

    private static async Task<Errno> WriteInPlaceAsync(DavRequest r, InodeAttr existing, long expected)
    {
        var opened = await r.Fs.OpenAsync(r.Caller, existing.Ino, OpenFlags.WriteOnly, r.Ct).ConfigureAwait(false);
        if (!opened.Ok)
            return opened.Error;
        var handle = opened.Value;
        try
        {
            var (copied, length) = await CopyBodyAsync(r, handle, expected).ConfigureAwait(false);
            if (copied != Errno.OK)
                return copied;
            var truncated = await r.Fs.SetAttrAsync(r.Caller, existing.Ino, new SetAttrRequest(SetAttrMask.Size, Size: length), r.Ct).ConfigureAwait(false);
            return truncated.Ok ? Errno.OK : truncated.Error;
        }
        finally
        {
            await r.Fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Copies the request body to the file from offset 0; fails (EIO) when the body ends short of the promised length.</summary>
    private static async Task<(Errno Error, long Length)> CopyBodyAsync(DavRequest r, FileHandle handle, long expected)
    {
        var reader = r.Request.BodyReader;
        long offset = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(r.Ct).ConfigureAwait(false);
                var buffer = read.Buffer;
                foreach (var segment in buffer)
                {
                    var written = await r.Fs.WriteAsync(handle, offset, segment, r.Ct).ConfigureAwait(false);
                    if (!written.Ok)
                    {
                        reader.AdvanceTo(buffer.End);
                        return (written.Error, offset);
                    }
                    offset += segment.Length;
                }
                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return (Errno.EINTR, offset);
        }
        return (expected >= 0 && offset != expected ? Errno.EINVAL : Errno.OK, offset);
    }
}
