using System.Text;
using System.Xml;
using System.Xml.Linq;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.StaticFiles;

namespace Protocols.WebDav;

/// <summary>
/// WebDAV properties: the live ones computed from inode attributes, locks and statfs, and dead ones kept as extended
/// attributes named "user.webdav.&lt;escaped namespace&gt;:&lt;local name&gt;" whose value is the property element as XML.
/// </summary>
public static class DavProperties
{
    public const string XattrPrefix = "user.webdav.";

    public static readonly XName CreationDate = DavXml.Dav + "creationdate";
    public static readonly XName DisplayName = DavXml.Dav + "displayname";
    public static readonly XName ContentLength = DavXml.Dav + "getcontentlength";
    public static readonly XName ContentType = DavXml.Dav + "getcontenttype";
    public static readonly XName ETag = DavXml.Dav + "getetag";
    public static readonly XName LastModified = DavXml.Dav + "getlastmodified";
    public static readonly XName LockDiscovery = DavXml.Dav + "lockdiscovery";
    public static readonly XName ResourceType = DavXml.Dav + "resourcetype";
    public static readonly XName SupportedLock = DavXml.Dav + "supportedlock";
    public static readonly XName QuotaAvailable = DavXml.Dav + "quota-available-bytes";
    public static readonly XName QuotaUsed = DavXml.Dav + "quota-used-bytes";
    public static readonly XName Win32LastModifiedTime = DavXml.Microsoft + "Win32LastModifiedTime";
    public static readonly XName Win32LastAccessTime = DavXml.Microsoft + "Win32LastAccessTime";

    /// <summary>The live properties allprop returns (RFC 4918 section 9.1; the quota ones are only given when asked for).</summary>
    public static readonly IReadOnlyList<XName> AllPropLive =
        [CreationDate, DisplayName, ContentLength, ContentType, ETag, LastModified, LockDiscovery, ResourceType, SupportedLock];

    private static readonly HashSet<XName> Computed =
        [.. AllPropLive, QuotaAvailable, QuotaUsed, Win32LastModifiedTime, Win32LastAccessTime];

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Whether the property is computed by the server (and so cannot be stored as a dead property).</summary>
    public static bool IsLive(XName name) => Computed.Contains(name);

    /// <summary>Live properties PROPPATCH may not change; the Win32 times can be set (they map onto the inode's times).</summary>
    public static bool IsProtected(XName name) => IsLive(name) && name.Namespace != DavXml.Microsoft;

    public static string XattrName(XName name) => XattrPrefix + Uri.EscapeDataString(name.NamespaceName) + ":" + name.LocalName;

    public static XName? FromXattrName(string xattr)
    {
        if (!xattr.StartsWith(XattrPrefix, StringComparison.Ordinal))
            return null;
        var rest = xattr.AsSpan(XattrPrefix.Length);
        var colon = rest.LastIndexOf(':');
        if (colon < 0 || colon == rest.Length - 1)
            return null;
        try
        {
            return XName.Get(rest[(colon + 1)..].ToString(), Uri.UnescapeDataString(rest[..colon].ToString()));
        }
        catch (XmlException)
        {
            return null;
        }
    }

    public static string ContentTypeOf(string name) =>
        ContentTypes.TryGetContentType(name, out var type) ? type : "application/octet-stream";

    /// <summary>What a live property needs beyond the inode: its locks and the volume's usage, gathered once per response.</summary>
    public sealed record Context(DavRequest Request, DavPath Path, InodeAttr Attr, IReadOnlyList<CoveringLock>? Locks, StatFs? Usage);

    /// <summary>Whether the resource has the live property (what <see cref="TryWriteLive"/> would write).</summary>
    public static bool Has(XName name, Context c)
    {
        var collection = c.Attr.Type == FileType.Directory;
        if (name == ContentLength || name == ContentType)
            return !collection;
        if (name == LockDiscovery)
            return c.Locks is not null;
        if (name == QuotaAvailable || name == QuotaUsed)
            return collection && c.Usage is not null;
        return Computed.Contains(name);
    }

    /// <summary>Writes the live property <paramref name="name"/> as an element; false when the resource does not have it.</summary>
    public static bool TryWriteLive(XmlWriter w, XName name, Context c)
    {
        var attr = c.Attr;
        var collection = attr.Type == FileType.Directory;
        if (name == ResourceType)
        {
            w.WriteStartElement("resourcetype", DavXml.DavNamespace);
            if (collection)
                w.WriteElementString("collection", DavXml.DavNamespace, "");
            w.WriteEndElement();
        }
        else if (name == DisplayName)
        {
            w.WriteElementString("displayname", DavXml.DavNamespace, c.Path.Name);
        }
        else if (name == ContentLength)
        {
            if (collection)
                return false;
            w.WriteElementString("getcontentlength", DavXml.DavNamespace, attr.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else if (name == ContentType)
        {
            if (collection)
                return false;
            w.WriteElementString("getcontenttype", DavXml.DavNamespace, ContentTypeOf(c.Path.Name));
        }
        else if (name == ETag)
        {
            w.WriteElementString("getetag", DavXml.DavNamespace, DavRequest.ETag(attr));
        }
        else if (name == LastModified)
        {
            w.WriteElementString("getlastmodified", DavXml.DavNamespace, DavXml.HttpDate(UnixTime.ToDateTime(attr.Mtime)));
        }
        else if (name == CreationDate)
        {
            // No birth time is kept; the earlier of ctime and mtime is the closest thing to it.
            w.WriteElementString("creationdate", DavXml.DavNamespace, DavXml.Rfc3339(UnixTime.ToDateTime(Math.Min(attr.Ctime, attr.Mtime))));
        }
        else if (name == SupportedLock)
        {
            WriteSupportedLock(w);
        }
        else if (name == LockDiscovery)
        {
            if (c.Locks is null)
                return false;
            WriteLockDiscovery(w, c.Request, c.Locks);
        }
        else if (name == QuotaAvailable || name == QuotaUsed)
        {
            if (!collection || c.Usage is not { } usage)
                return false;
            var value = name == QuotaAvailable ? usage.AvailableBytes : usage.TotalBytes - usage.AvailableBytes;
            w.WriteElementString(name.LocalName, DavXml.DavNamespace, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else if (name == Win32LastModifiedTime)
        {
            w.WriteElementString("Win32LastModifiedTime", DavXml.MicrosoftNamespace, DavXml.HttpDate(UnixTime.ToDateTime(attr.Mtime)));
        }
        else if (name == Win32LastAccessTime)
        {
            w.WriteElementString("Win32LastAccessTime", DavXml.MicrosoftNamespace, DavXml.HttpDate(UnixTime.ToDateTime(attr.Atime)));
        }
        else
        {
            return false;
        }
        return true;
    }

    public static void WriteSupportedLock(XmlWriter w)
    {
        w.WriteStartElement("supportedlock", DavXml.DavNamespace);
        foreach (var scope in (string[])["exclusive", "shared"])
        {
            w.WriteStartElement("lockentry", DavXml.DavNamespace);
            w.WriteStartElement("lockscope", DavXml.DavNamespace);
            w.WriteElementString(scope, DavXml.DavNamespace, "");
            w.WriteEndElement();
            w.WriteStartElement("locktype", DavXml.DavNamespace);
            w.WriteElementString("write", DavXml.DavNamespace, "");
            w.WriteEndElement();
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    public static void WriteLockDiscovery(XmlWriter w, DavRequest request, IEnumerable<CoveringLock> locks)
    {
        w.WriteStartElement("lockdiscovery", DavXml.DavNamespace);
        foreach (var l in locks)
            WriteActiveLock(w, request, l);
        w.WriteEndElement();
    }

    public static void WriteActiveLock(XmlWriter w, DavRequest request, CoveringLock l)
    {
        var held = l.Lock;
        w.WriteStartElement("activelock", DavXml.DavNamespace);
        w.WriteStartElement("locktype", DavXml.DavNamespace);
        w.WriteElementString("write", DavXml.DavNamespace, "");
        w.WriteEndElement();
        w.WriteStartElement("lockscope", DavXml.DavNamespace);
        w.WriteElementString(held.Mode == LockMode.Exclusive ? "exclusive" : "shared", DavXml.DavNamespace, "");
        w.WriteEndElement();
        w.WriteElementString("depth", DavXml.DavNamespace, held.Depth == -1 ? "infinity" : "0");
        if (!string.IsNullOrEmpty(held.Info))
            w.WriteRaw(held.Info);
        w.WriteElementString("timeout", DavXml.DavNamespace, TimeoutText(held.ExpiresUnixMs));
        w.WriteStartElement("locktoken", DavXml.DavNamespace);
        w.WriteElementString("href", DavXml.DavNamespace, held.Token);
        w.WriteEndElement();
        w.WriteStartElement("lockroot", DavXml.DavNamespace);
        w.WriteElementString("href", DavXml.DavNamespace, request.Href(l.Root, l.Collection));
        w.WriteEndElement();
        w.WriteEndElement();
    }

    private static string TimeoutText(long expiresUnixMs)
    {
        if (expiresUnixMs == 0)
            return "Infinite";
        var left = Math.Max(0, (expiresUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 999) / 1000);
        return "Second-" + left.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The stored form of a dead property: the element itself, so its value keeps its namespaces and language.</summary>
    public static byte[] Serialize(XElement property) =>
        Encoding.UTF8.GetBytes(property.ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
}
