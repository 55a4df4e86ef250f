using System.Text;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
internal sealed partial class FuseOperations
{
    private async ValueTask SetXattrAsync(FuseRequest request)
    {
        // FUSE_SETXATTR_EXT is not negotiated, so the kernel sends the 8-byte form of fuse_setxattr_in.
        var input = request.Read<FuseSetXattrIn>();
        var name = Name(request, Size<FuseSetXattrIn>(), out var valueAt);
        if (name is null)
            return;
        if (valueAt + input.Size > request.PayloadLength)
        {
            request.Fail((int)Errno.EINVAL);
            return;
        }
        var value = request.PayloadMemory(valueAt, (int)input.Size);
        Reply(request, await _fs.SetXattrAsync(CallerOf(request), request.NodeId, name, value, (XattrFlags)input.Flags).ConfigureAwait(false));
    }

    private async ValueTask GetXattrAsync(FuseRequest request)
    {
        var size = request.Read<FuseGetXattrIn>().Size;
        var name = Name(request, Size<FuseGetXattrIn>(), out _);
        if (name is null)
            return;
        var value = await _fs.GetXattrAsync(CallerOf(request), request.NodeId, name).ConfigureAwait(false);
        if (!value.Ok)
        {
            request.Fail((int)value.Error);
            return;
        }
        ReplySized(request, size, value.Value.Length, body => value.Value.CopyTo(body));
    }

    private async ValueTask ListXattrAsync(FuseRequest request)
    {
        var size = request.Read<FuseGetXattrIn>().Size;
        var names = await _fs.ListXattrAsync(CallerOf(request), request.NodeId).ConfigureAwait(false);
        if (!names.Ok)
        {
            request.Fail((int)names.Error);
            return;
        }
        var total = 0;
        foreach (var n in names.Value)
            total += Encoding.UTF8.GetByteCount(n) + 1;
        ReplySized(request, size, total, body =>
        {
            var at = 0;
            foreach (var n in names.Value)
            {
                at += Encoding.UTF8.GetBytes(n, body[at..]);
                body[at++] = 0;
            }
        });
    }

    private async ValueTask RemoveXattrAsync(FuseRequest request)
    {
        var name = Name(request, 0, out _);
        if (name is null)
            return;
        Reply(request, await _fs.RemoveXattrAsync(CallerOf(request), request.NodeId, name).ConfigureAwait(false));
    }

    /// <summary>The xattr size protocol: size 0 asks how big, a buffer too small is ERANGE, otherwise the bytes.</summary>
    private static void ReplySized(FuseRequest request, uint size, int length, SpanAction fill)
    {
        if (size == 0)
        {
            request.Reply(new FuseGetXattrOut { Size = (uint)length });
            return;
        }
        if (length > size || length > request.ReplyBody.Length)
        {
            request.Fail((int)Errno.ERANGE);
            return;
        }
        fill(request.ReplyBody[..length]);
        request.Reply(length);
    }

    private delegate void SpanAction(Span<byte> body);
}
