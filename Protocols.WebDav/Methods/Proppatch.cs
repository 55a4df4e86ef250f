using System.Globalization;
using System.Xml.Linq;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>
/// PROPPATCH: sets and removes dead properties in document order, all or nothing, always answering 207. Protected live
/// properties fail with 403 and make the rest fail with 424; the Win32 times Explorer sends are applied to the inode.
/// </summary>
public static class Proppatch
{
    private sealed record Change(XName Name, XElement? Value);

    public static async Task HandleAsync(DavRequest r)
    {
        var body = await DavXml.ReadBodyAsync(r.Request, r.Options.MaxXmlBodyBytes, r.Ct).ConfigureAwait(false);
        if (!body.Ok)
        {
            r.Response.StatusCode = body.Status;
            return;
        }
        if (body.Document?.Root is not { } root || root.Name != DavXml.PropertyUpdate)
        {
            r.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var changes = new List<Change>();
        foreach (var op in root.Elements())
        {
            if (op.Name != DavXml.Set && op.Name != DavXml.Remove)
                continue;
            foreach (var prop in op.Elements(DavXml.Prop).SelectMany(p => p.Elements()))
                changes.Add(new Change(prop.Name, op.Name == DavXml.Set ? prop : null));
        }
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is not { } target)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        if (await r.CheckWriteAsync(resolved, membership: false).ConfigureAwait(false) != 0)
            return;

        var failures = new Dictionary<XName, int>();
        foreach (var change in changes)
            if (DavProperties.IsProtected(change.Name))
                failures[change.Name] = StatusCodes.Status403Forbidden;
        if (failures.Count == 0)
        {
            var failed = await ApplyAsync(r, target, changes).ConfigureAwait(false);
            if (failed is { } f)
                failures[f.Name] = f.Status;
        }

        var ms = new MultistatusWriter(r.Response, r.Ct);
        var w = ms.Xml;
        w.WriteStartElement("response", DavXml.DavNamespace);
        w.WriteElementString("href", DavXml.DavNamespace, r.Href(r.Path, target.Type == FileType.Directory));
        var names = changes.Select(c => c.Name).Distinct().ToList();
        var groups = names.GroupBy(n => failures.Count == 0 ? 200 : failures.GetValueOrDefault(n, DavStatus.FailedDependency));
        foreach (var group in groups)
        {
            w.WriteStartElement("propstat", DavXml.DavNamespace);
            w.WriteStartElement("prop", DavXml.DavNamespace);
            foreach (var name in group)
                w.WriteElementString(name.LocalName, name.NamespaceName, "");
            w.WriteEndElement();
            w.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(group.Key));
            if (group.Key == StatusCodes.Status403Forbidden)
            {
                w.WriteStartElement("error", DavXml.DavNamespace);
                w.WriteElementString("cannot-modify-protected-property", DavXml.DavNamespace, "");
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }
        w.WriteEndElement();
        await ms.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the changes; on the first failure undoes those already made and returns the property that failed and why.
    /// Later changes of one name win, so each stored property is written once with its final value.
    /// </summary>
    private static async Task<(XName Name, int Status)?> ApplyAsync(DavRequest r, InodeAttr target, List<Change> changes)
    {
        var final = new Dictionary<XName, XElement?>();
        foreach (var change in changes)
            final[change.Name] = change.Value;

        var undo = new List<(string Xattr, byte[]? Previous)>();
        SetAttrRequest times = default;
        foreach (var (name, value) in final)
        {
            if (name == DavProperties.Win32LastModifiedTime || name == DavProperties.Win32LastAccessTime)
            {
                if (value is null)
                    continue;
                if (!DateTimeOffset.TryParse(value.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
                {
                    await UndoAsync(r, target, undo).ConfigureAwait(false);
                    return (name, StatusCodes.Status409Conflict);
                }
                var nanos = UnixTime.FromDateTime(when.UtcDateTime);
                times = name == DavProperties.Win32LastModifiedTime
                    ? times with { Mask = times.Mask | SetAttrMask.Mtime, Mtime = nanos }
                    : times with { Mask = times.Mask | SetAttrMask.Atime, Atime = nanos };
                continue;
            }
            var xattr = DavProperties.XattrName(name);
            var previous = await r.Fs.GetXattrAsync(r.Caller, target.Ino, xattr, r.Ct).ConfigureAwait(false);
            if (!previous.Ok && previous.Error != Errno.ENODATA)
            {
                await UndoAsync(r, target, undo).ConfigureAwait(false);
                return (name, DavStatus.FromErrno(previous.Error));
            }
            var result = value is null
                ? await r.Fs.RemoveXattrAsync(r.Caller, target.Ino, xattr, r.Ct).ConfigureAwait(false)
                : await r.Fs.SetXattrAsync(r.Caller, target.Ino, xattr, DavProperties.Serialize(value), XattrFlags.None, r.Ct).ConfigureAwait(false);
            if (result == Errno.ENODATA && value is null)
                continue; // removing a property that is not there succeeds (RFC 4918 section 14.23)
            if (result != Errno.OK)
            {
                await UndoAsync(r, target, undo).ConfigureAwait(false);
                return (name, result == Errno.E2BIG || result == Errno.ERANGE ? DavStatus.InsufficientStorage : DavStatus.FromErrno(result));
            }
            undo.Add((xattr, previous.Ok ? previous.Value : null));
        }
        if (times.Mask != SetAttrMask.None)
        {
            var set = await r.Fs.SetAttrAsync(r.Caller, target.Ino, times, r.Ct).ConfigureAwait(false);
            if (!set.Ok)
            {
                await UndoAsync(r, target, undo).ConfigureAwait(false);
                return ((times.Mask & SetAttrMask.Mtime) != 0 ? DavProperties.Win32LastModifiedTime : DavProperties.Win32LastAccessTime,
                    DavStatus.FromErrno(set.Error));
            }
        }
        return null;
    }

    private static async Task UndoAsync(DavRequest r, InodeAttr target, List<(string Xattr, byte[]? Previous)> undo)
    {
        for (var i = undo.Count - 1; i >= 0; i--)
        {
            var (xattr, previous) = undo[i];
            if (previous is null)
                await r.Fs.RemoveXattrAsync(r.Caller, target.Ino, xattr, CancellationToken.None).ConfigureAwait(false);
            else
                await r.Fs.SetXattrAsync(r.Caller, target.Ino, xattr, previous, XattrFlags.None, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
