using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>
/// PUT: streams the body into the volume. A file that exists is written under a temporary name in the same collection
/// and renamed over the target only once the whole body is in, so a failed or aborted upload leaves the previous content
/// behind; a new file that fails is removed. A file that is locked, hard-linked, or in a collection the caller may not
/// create in is written in place instead, because replacing its inode would drop its locks, break its links, or be refused.
/// </summary>
public static class Put
{
    private const string TempPrefix = ".~dav-put-";
    /// <summary>Bytes gathered from the body before each write into the volume (the body arrives in pieces of a few KiB).</summary>
    private const int WriteBytes = 1 << 20;
    /// <summary>Uploads smaller than this are not checked against free space first: the check costs more than it saves.</summary>
    private const long SpaceCheckBytes = 1 << 20;

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
        if (expected >= SpaceCheckBytes)
        {
            var statfs = await r.Fs.StatFsAsync(r.Ct).ConfigureAwait(false);
            if (statfs.Ok && statfs.Value.AvailableBytes < expected - (resolved.Target?.Size ?? 0))
            {
                r.Response.StatusCode = DavStatus.InsufficientStorage;
                return;
            }
        }

        var existing = resolved.Target;
        Result<Written> result;
        if (existing is null)
        {
            result = await WriteNewAsync(r, parent, expected).ConfigureAwait(false);
        }
        else if (existing.Nlink > 1 || existing.Type != FileType.Regular || (await r.LocksOfAsync(existing.Ino).ConfigureAwait(false)).Count > 0)
        {
            result = await WriteInPlaceAsync(r, existing, expected).ConfigureAwait(false);
        }
        else
        {
            result = await WriteReplacingAsync(r, parent, existing, expected).ConfigureAwait(false);
            if (result.Error == Errno.EACCES)
                result = await WriteInPlaceAsync(r, existing, expected).ConfigureAwait(false);
        }
        if (!result.Ok)
        {
            r.Response.StatusCode = DavStatus.FromErrno(result.Error);
            return;
        }
        r.Invalidate();
        var attr = result.Value.Attr;
        if (attr is null)
        {
            var read = await r.Fs.GetAttrAsync(result.Value.Ino, r.Ct).ConfigureAwait(false);
            attr = read.Ok ? read.Value : null;
        }
        if (attr is not null)
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

    /// <summary>The file written, and its attributes when the write already has them (the validators come from them).</summary>
    private readonly record struct Written(ulong Ino, InodeAttr? Attr);

    /// <summary>Creates the file under its own name; if the body does not arrive whole, the file goes again.</summary>
    private static async Task<Result<Written>> WriteNewAsync(DavRequest r, InodeAttr parent, long expected)
    {
        var created = await r.Fs.CreateAsync(r.Caller, parent.Ino, r.Path.Name, r.Options.FileMode, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, r.Ct).ConfigureAwait(false);
        if (!created.Ok)
            return created.Error;
        var (attr, handle) = created.Value;
        var (copied, _) = await CopyBodyAsync(r, handle, expected).ConfigureAwait(false);
        var released = await r.Fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
        var error = copied != Errno.OK ? copied : released;
        if (error == Errno.OK)
            return new Written(attr.Ino, handle.ReleasedAttr);
        await r.Fs.UnlinkAsync(r.Caller, parent.Ino, r.Path.Name, CancellationToken.None).ConfigureAwait(false);
        return error;
    }

    private static async Task<Result<Written>> WriteReplacingAsync(DavRequest r, InodeAttr parent, InodeAttr existing, long expected)
    {
        var tempName = TempPrefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var mode = existing.Mode & 0xFFF;
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
            await CarryOverAsync(r, existing, attr).ConfigureAwait(false);
            var renamed = await r.Fs.RenameAsync(r.Caller, parent.Ino, tempName, parent.Ino, r.Path.Name, RenameFlags.None, r.Ct).ConfigureAwait(false);
            if (renamed != Errno.OK)
                return renamed;
            done = true;
            // The carried-over owner and properties and the rename change neither the size nor the mtime.
            return new Written(attr.Ino, handle.ReleasedAttr);
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

    private static async Task<Result<Written>> WriteInPlaceAsync(DavRequest r, InodeAttr existing, long expected)
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
            // The release after this commits what is still buffered: the validators are read once it is done.
            return truncated.Ok ? new Written(existing.Ino, null) : truncated.Error;
        }
        finally
        {
            await r.Fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies the request body to the file from offset 0, gathering it into large writes; fails (EINVAL) when the body ends
    /// short of the promised length, EINTR when the client goes away.
    /// </summary>
    private static async Task<(Errno Error, long Length)> CopyBodyAsync(DavRequest r, FileHandle handle, long expected)
    {
        var reader = r.Request.BodyReader;
        // A small upload of known length is gathered in a buffer of its own size: many small PUTs in parallel then hold
        // kilobytes of pooled memory, not a MiB each.
        var buffer = ArrayPool<byte>.Shared.Rent(expected is > 0 and < WriteBytes ? (int)expected : WriteBytes);
        var filled = 0;
        long offset = 0;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(r.Ct).ConfigureAwait(false);
                var data = read.Buffer;
                while (!data.IsEmpty)
                {
                    var take = (int)Math.Min(data.Length, buffer.Length - filled);
                    data.Slice(0, take).CopyTo(buffer.AsSpan(filled));
                    filled += take;
                    data = data.Slice(take);
                    if (filled == buffer.Length)
                    {
                        var written = await r.Fs.WriteAsync(handle, offset, buffer.AsMemory(0, filled), r.Ct).ConfigureAwait(false);
                        if (!written.Ok)
                        {
                            reader.AdvanceTo(read.Buffer.End);
                            return (written.Error, offset);
                        }
                        offset += filled;
                        filled = 0;
                    }
                }
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    break;
            }
            if (filled > 0)
            {
                var written = await r.Fs.WriteAsync(handle, offset, buffer.AsMemory(0, filled), r.Ct).ConfigureAwait(false);
                if (!written.Ok)
                    return (written.Error, offset);
                offset += filled;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return (Errno.EINTR, offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (expected >= 0 && offset != expected ? Errno.EINVAL : Errno.OK, offset);
    }
}
