using System.Globalization;
using System.Net;
using System.Text;
using Fs.Core.Vfs;
using Protocols.WebDav.Methods;

namespace Protocols.WebDav;

/// <summary>The plain HTML page a browser gets for GET on a collection: one row per member, every name escaped.</summary>
public static class DirectoryListing
{
    public static async Task WriteAsync(DavRequest r, InodeAttr dir, bool head)
    {
        var members = await Delete.ListAsync(r, dir.Ino).ConfigureAwait(false);
        members.Sort((a, b) => (a.Attr.Type == FileType.Directory, b.Attr.Type == FileType.Directory) switch
        {
            (true, false) => -1,
            (false, true) => 1,
            _ => string.CompareOrdinal(a.Name, b.Name),
        });
        var title = WebUtility.HtmlEncode(r.Path.ToString());
        var sb = new StringBuilder(256 + members.Count * 160);
        sb.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ").Append(title)
          .Append("</title><style>body{font-family:sans-serif}td{padding:0 1em}td.n{text-align:right}</style></head><body>\n<h1>Index of ")
          .Append(title).Append("</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n");
        if (!r.Path.IsRoot)
            sb.Append("<tr><td><a href=\"").Append(WebUtility.HtmlEncode(r.Href(r.Path.Parent, true))).Append("\">../</a></td><td></td><td></td></tr>\n");
        foreach (var (name, attr) in members)
        {
            var collection = attr.Type == FileType.Directory;
            sb.Append("<tr><td><a href=\"").Append(WebUtility.HtmlEncode(r.Href(r.Path.Child(name), collection))).Append("\">")
              .Append(WebUtility.HtmlEncode(name)).Append(collection ? "/" : "").Append("</a></td><td class=\"n\">")
              .Append(collection ? "-" : attr.Size.ToString(CultureInfo.InvariantCulture)).Append("</td><td>")
              .Append(UnixTime.ToDateTime(attr.Mtime).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture))
              .Append("</td></tr>\n");
        }
        sb.Append("</table>\n</body></html>\n");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        var response = r.Response;
        response.StatusCode = 200;
        response.ContentType = "text/html; charset=utf-8";
        // A hostile name is text, never markup or script, even if escaping were ever missed.
        response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.ContentLength = bytes.Length;
        if (!head)
            await response.Body.WriteAsync(bytes, r.Ct).ConfigureAwait(false);
    }
}
