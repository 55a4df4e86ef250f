using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>MKCOL: creates a collection; 405 when the name is taken, 409 without a parent, 415 for a body (no extended MKCOL).</summary>
public static class Mkcol
{
    public static async Task HandleAsync(DavRequest r)
    {
        if (r.Request.ContentLength > 0 || r.Request.Headers.TransferEncoding.Count > 0)
        {
            // Drain what was sent so the connection can be reused; the body itself is not understood.
            await r.Request.Body.CopyToAsync(Stream.Null, r.Ct).ConfigureAwait(false);
            r.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Exists)
        {
            r.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (resolved.Parent is not { } parent || resolved.Error != Errno.ENOENT)
        {
            r.Response.StatusCode = resolved.Error is Errno.ENOENT or Errno.ENOTDIR ? StatusCodes.Status409Conflict : DavStatus.FromErrno(resolved.Error);
            return;
        }
        if (await r.CheckWriteAsync(resolved, membership: true).ConfigureAwait(false) != 0)
            return;
        var made = await r.Fs.MkdirAsync(r.Caller, parent.Ino, r.Path.Name, r.Options.DirectoryMode, r.Ct).ConfigureAwait(false);
        r.Response.StatusCode = made.Ok ? StatusCodes.Status201Created
            : made.Error == Errno.EEXIST ? StatusCodes.Status405MethodNotAllowed
            : DavStatus.FromErrno(made.Error);
    }
}
