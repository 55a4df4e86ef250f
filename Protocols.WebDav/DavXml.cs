using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav;

/// <summary>
/// The XML model of the door: the names it knows, safe parsing of request bodies (no DTDs, no resolver, size-capped) and the
/// streamed multistatus writer.
/// </summary>
public static class DavXml
{
    public const string DavNamespace = "DAV:";
    public const string MicrosoftNamespace = "urn:schemas-microsoft-com:";

    public static readonly XNamespace Dav = DavNamespace;
    public static readonly XNamespace Microsoft = MicrosoftNamespace;

    public static readonly XName Propfind = Dav + "propfind";
    public static readonly XName PropertyUpdate = Dav + "propertyupdate";
    public static readonly XName Prop = Dav + "prop";
    public static readonly XName AllProp = Dav + "allprop";
    public static readonly XName PropName = Dav + "propname";
    public static readonly XName Include = Dav + "include";
    public static readonly XName Set = Dav + "set";
    public static readonly XName Remove = Dav + "remove";
    public static readonly XName LockInfo = Dav + "lockinfo";
    public static readonly XName LockScope = Dav + "lockscope";
    public static readonly XName LockType = Dav + "locktype";
    public static readonly XName Exclusive = Dav + "exclusive";
    public static readonly XName Shared = Dav + "shared";
    public static readonly XName Write = Dav + "write";
    public static readonly XName Owner = Dav + "owner";

    /// <summary>Settings every request body is parsed with: entity expansion and external resources are impossible.</summary>
    public static XmlReaderSettings ReaderSettings(int maxBytes) => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersInDocument = maxBytes,
        MaxCharactersFromEntities = 0,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = false,
    };

    /// <summary>Outcome of reading an XML request body: the document (null for an empty body) or the status to refuse it with.</summary>
    public readonly record struct Body(XDocument? Document, int Status)
    {
        public bool Ok => Status == 0;
    }

    /// <summary>Reads and parses the request body, refusing more than <paramref name="maxBytes"/> (413) and malformed or DTD-bearing XML (400).</summary>
    public static async ValueTask<Body> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        if (request.ContentLength is 0)
            return new Body(null, 0);
        if (request.ContentLength > maxBytes)
            return new Body(null, StatusCodes.Status413PayloadTooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0)
                break;
            if (buffer.Length + n > maxBytes)
                return new Body(null, StatusCodes.Status413PayloadTooLarge);
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0)
            return new Body(null, 0);
        buffer.Position = 0;
        try
        {
            using var reader = XmlReader.Create(buffer, ReaderSettings(maxBytes));
            return new Body(XDocument.Load(reader, LoadOptions.PreserveWhitespace), 0);
        }
        catch (XmlException)
        {
            return new Body(null, StatusCodes.Status400BadRequest);
        }
    }

    /// <summary>Writes the RFC 1123 date HTTP and getlastmodified use ("Tue, 15 Nov 1994 12:45:26 GMT").</summary>
    public static string HttpDate(DateTime utc) => utc.ToUniversalTime().ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes the RFC 3339 date creationdate uses.</summary>
    public static string Rfc3339(DateTime utc) => utc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    internal static readonly UTF8Encoding Utf8NoBom = new(false);

    /// <summary>Writes an error response with an optional DAV:error precondition body (and hrefs inside the condition).</summary>
    public static async Task WriteErrorAsync(HttpResponse response, int status, string? condition, IEnumerable<string>? hrefs, CancellationToken ct)
    {
        response.StatusCode = status;
        if (condition is null)
            return;
        var sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><D:error xmlns:D=\"DAV:\"><D:").Append(condition);
        if (hrefs is null)
        {
            sb.Append("/>");
        }
        else
        {
            sb.Append('>');
            foreach (var href in hrefs)
                sb.Append("<D:href>").Append(System.Security.SecurityElement.Escape(href)).Append("</D:href>");
            sb.Append("</D:").Append(condition).Append('>');
        }
        sb.Append("</D:error>");
        var bytes = Utf8NoBom.GetBytes(sb.ToString());
        response.ContentType = "application/xml; charset=utf-8";
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
    }
}

/// <summary>
/// Streams a 207 Multi-Status body: responses are written into a buffer that goes to the client whenever it fills, so a
/// listing of a large collection never sits whole in memory.
/// </summary>
public sealed class MultistatusWriter
{
    private const int FlushBytes = 64 * 1024;
    private readonly HttpResponse _response;
    private readonly MemoryStream _buffer = new();
    private readonly CancellationToken _ct;

    public MultistatusWriter(HttpResponse response, CancellationToken ct)
    {
        _response = response;
        _ct = ct;
        response.StatusCode = DavStatus.MultiStatus;
        response.ContentType = "application/xml; charset=utf-8";
        Xml = XmlWriter.Create(_buffer, new XmlWriterSettings { Encoding = DavXml.Utf8NoBom, CheckCharacters = true });
        Xml.WriteStartDocument();
        Xml.WriteStartElement("D", "multistatus", DavXml.DavNamespace);
    }

    /// <summary>The writer positioned inside multistatus; callers write whole response elements.</summary>
    public XmlWriter Xml { get; }

    /// <summary>Writes a response element that carries only a status (DELETE, COPY and MOVE member failures).</summary>
    public void WriteStatus(string href, int status, string? condition = null)
    {
        Xml.WriteStartElement("response", DavXml.DavNamespace);
        Xml.WriteElementString("href", DavXml.DavNamespace, href);
        Xml.WriteElementString("status", DavXml.DavNamespace, DavStatus.Line(status));
        if (condition is not null)
        {
            Xml.WriteStartElement("error", DavXml.DavNamespace);
            Xml.WriteElementString(condition, DavXml.DavNamespace, "");
            Xml.WriteEndElement();
        }
        Xml.WriteEndElement();
    }

    /// <summary>Sends what is buffered once enough has gathered.</summary>
    public async ValueTask FlushIfFullAsync()
    {
        Xml.Flush();
        if (_buffer.Length >= FlushBytes)
            await SendBufferAsync().ConfigureAwait(false);
    }

    public async ValueTask CompleteAsync()
    {
        Xml.WriteEndElement();
        Xml.WriteEndDocument();
        Xml.Flush();
        Xml.Dispose();
        await SendBufferAsync().ConfigureAwait(false);
    }

    private async ValueTask SendBufferAsync()
    {
        if (_buffer.Length == 0)
            return;
        await _response.Body.WriteAsync(_buffer.GetBuffer().AsMemory(0, (int)_buffer.Length), _ct).ConfigureAwait(false);
        _buffer.SetLength(0);
    }
}
