using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    /// <summary>REMOVE (procedure 12).</summary>
    private ValueTask Remove(Nfs3Context ctx, XdrReader args, XdrWriter reply) => RemoveEntry(ctx, args, reply, directory: false);

    /// <summary>RMDIR (procedure 13).</summary>
    private ValueTask Rmdir(Nfs3Context ctx, XdrReader args, XdrWriter reply) => RemoveEntry(ctx, args, reply, directory: true);

    private async ValueTask RemoveEntry(Nfs3Context ctx, XdrReader args, XdrWriter reply, bool directory)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        if (dir == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WriteWcc(reply, null, null);
            return;
        }
        var before = await _fs.GetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        if (!before.Ok)
        {
            WriteStatus(reply, HandleStatus(before.Error));
            WriteWcc(reply, null, null);
            return;
        }
        var status = ctx.ReadOnly ? Nfs3Status.RoFs : name is null ? Nfs3Status.NameTooLong : Nfs3Status.Ok;
        if (status == Nfs3Status.Ok && name is "." or "..")
            status = directory ? Nfs3Status.Inval : Nfs3Status.Acces;
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        var victim = await _fs.LookupAsync(ctx.Caller, dir, name!, ctx.Ct).ConfigureAwait(false);
        var result = directory
            ? await _fs.RmdirAsync(ctx.Caller, dir, name!, ctx.Ct).ConfigureAwait(false)
            : await _fs.UnlinkAsync(ctx.Caller, dir, name!, ctx.Ct).ConfigureAwait(false);
        if (result == Errno.OK && !directory && victim.Ok && victim.Value.Nlink <= 1)
            await _files.ForgetAsync(victim.Value.Ino).ConfigureAwait(false);
        var after = await TryGetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        WriteStatus(reply, Nfs3Errors.FromErrno(result));
        WriteWcc(reply, before.Value, after);
    }
}
