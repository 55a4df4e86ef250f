using System.Text;

namespace Protocols.WebDav;

/// <summary>
/// A request path inside the served tree: the decoded names from the root, parsed once from the raw request target.
/// Names are exactly as the client sent them (no Unicode normalisation), and never ".", "..", empty, or holding '/', '\' or NUL.
/// </summary>
public sealed class DavPath : IEquatable<DavPath>
{
    public static readonly DavPath Root = new([], true);

    private DavPath(IReadOnlyList<string> names, bool trailingSlash)
    {
        Names = names;
        TrailingSlash = trailingSlash;
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the client wrote the path with a final '/'.</summary>
    public bool TrailingSlash { get; }

    public bool IsRoot => Names.Count == 0;

    public string Name => Names.Count == 0 ? "" : Names[^1];

    public DavPath Parent => Names.Count == 0 ? this : new DavPath(Names.Take(Names.Count - 1).ToArray(), true);

    public DavPath Child(string name) => new([.. Names, name], false);

    /// <summary>Whether <paramref name="other"/> is this path or lies below it.</summary>
    public bool Contains(DavPath other)
    {
        if (other.Names.Count < Names.Count)
            return false;
        for (var i = 0; i < Names.Count; i++)
            if (!string.Equals(Names[i], other.Names[i], StringComparison.Ordinal))
                return false;
        return true;
    }

    /// <summary>The href of this path under <paramref name="prefix"/> (which starts and ends with '/'), every name percent-escaped.</summary>
    public string ToHref(string prefix, bool collection)
    {
        var sb = new StringBuilder(prefix);
        for (var i = 0; i < Names.Count; i++)
        {
            if (i > 0)
                sb.Append('/');
            sb.Append(Uri.EscapeDataString(Names[i]));
        }
        if (collection && Names.Count > 0)
            sb.Append('/');
        return sb.ToString();
    }

    public override string ToString() => "/" + string.Join('/', Names);

    public bool Equals(DavPath? other) => other is not null && Names.SequenceEqual(other.Names, StringComparer.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as DavPath);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var name in Names)
            hash.Add(name, StringComparer.Ordinal);
        return hash.ToHashCode();
    }

    /// <summary>
    /// Parses the path part of a raw request target (no query) below <paramref name="prefix"/>. Null when the path is unsafe
    /// (dot segments, NUL, backslash, an encoded '/', a fragment, bad escapes or UTF-8) or not under the prefix.
    /// </summary>
    public static DavPath? Parse(string rawPath, string prefix)
    {
        // A fragment never belongs in a request target; a client that sends one means something other than the path before it.
        if (rawPath.Contains('#'))
            return null;
        var query = rawPath.IndexOf('?');
        if (query >= 0)
            rawPath = rawPath[..query];
        if (rawPath.Length == 0 || rawPath[0] != '/')
            return null;
        if (!rawPath.StartsWith(prefix, StringComparison.Ordinal))
        {
            // "/dav" names the prefix "/dav/" itself.
            if (rawPath.Length == prefix.Length - 1 && prefix.StartsWith(rawPath, StringComparison.Ordinal))
                return Root;
            return null;
        }
        var rest = rawPath.AsSpan(prefix.Length);
        var names = new List<string>();
        foreach (var range in rest.Split('/'))
        {
            var raw = rest[range];
            if (raw.Length == 0)
                continue;
            var name = DecodeName(raw);
            if (name is null)
                return null;
            names.Add(name);
        }
        return new DavPath(names, rawPath.EndsWith('/'));
    }

    /// <summary>Percent-decodes one name once; null when it is not a safe name.</summary>
    internal static string? DecodeName(ReadOnlySpan<char> raw)
    {
        Span<byte> bytes = raw.Length <= 512 ? stackalloc byte[raw.Length * 3] : new byte[raw.Length * 3];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '%')
            {
                if (i + 2 >= raw.Length || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2]))
                    return null;
                var b = (byte)(HexValue(raw[i + 1]) << 4 | HexValue(raw[i + 2]));
                // An encoded '/' would smuggle a separator past the split above.
                if (b is (byte)'/' or (byte)'\\' or 0)
                    return null;
                bytes[n++] = b;
                i += 2;
            }
            else if (c is '\\' or '\0')
            {
                return null;
            }
            else if (c < 0x80)
            {
                bytes[n++] = (byte)c;
            }
            else
            {
                // Clients should escape non-ASCII, but some send raw UTF-8 that the server saw as Latin-1; take it as UTF-8.
                n += Encoding.UTF8.GetBytes(raw.Slice(i, char.IsHighSurrogate(c) && i + 1 < raw.Length ? 2 : 1), bytes[n..]);
                if (char.IsHighSurrogate(c))
                    i++;
            }
        }
        string name;
        try
        {
            name = StrictUtf8.GetString(bytes[..n]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        if (name is "." or ".." || name.Length == 0 || name.Contains('\0') || name.Contains('/') || name.Contains('\\'))
            return null;
        return name;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>Normalises a configured prefix to start and end with '/'.</summary>
    public static string NormalizePrefix(string prefix)
    {
        var p = "/" + prefix.Trim('/');
        return p == "/" ? p : p + "/";
    }
}
