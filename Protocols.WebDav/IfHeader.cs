namespace Protocols.WebDav;

/// <summary>One condition of an If header list: a state token (lock token) or an entity tag, possibly negated.</summary>
public sealed record IfCondition(bool Not, string? Token, string? ETag);

/// <summary>One parenthesised list of an If header; <see cref="Resource"/> is the tag it applies to (null = the request URI).</summary>
public sealed record IfList(string? Resource, IReadOnlyList<IfCondition> Conditions);

/// <summary>
/// The If request header of RFC 4918 section 10.4: untagged or tagged lists of conditions on lock tokens and entity tags.
/// The header holds when at least one list holds; every lock token named in it (outside Not) counts as submitted.
/// </summary>
public sealed class IfHeader
{
    private IfHeader(IReadOnlyList<IfList> lists) => Lists = lists;

    public IReadOnlyList<IfList> Lists { get; }

    /// <summary>The lock tokens the client submitted: those it names as holding (not under Not).</summary>
    public IEnumerable<string> SubmittedTokens =>
        Lists.SelectMany(l => l.Conditions).Where(c => !c.Not && c.Token is not null).Select(c => c.Token!).Distinct(StringComparer.Ordinal);

    /// <summary>Parses a header value; null when it does not follow the grammar (the request then gets 400).</summary>
    public static IfHeader? Parse(string value)
    {
        var lists = new List<IfList>();
        var pos = 0;
        string? resource = null;
        bool? tagged = null;
        while (true)
        {
            SkipSpace(value, ref pos);
            if (pos >= value.Length)
                break;
            var c = value[pos];
            if (c == '<')
            {
                // A resource tag: only in the tagged form, and it must be followed by at least one list.
                if (tagged == false)
                    return null;
                tagged = true;
                var tag = ReadAngle(value, ref pos);
                if (tag is null)
                    return null;
                SkipSpace(value, ref pos);
                if (pos >= value.Length || value[pos] != '(')
                    return null;
                resource = tag;
                continue;
            }
            if (c != '(')
                return null;
            if (tagged is null)
                tagged = false;
            var list = ParseList(value, ref pos);
            if (list is null)
                return null;
            lists.Add(new IfList(resource, list));
        }
        return lists.Count == 0 ? null : new IfHeader(lists);
    }

    private static List<IfCondition>? ParseList(string value, ref int pos)
    {
        pos++; // '('
        var conditions = new List<IfCondition>();
        while (true)
        {
            SkipSpace(value, ref pos);
            if (pos >= value.Length)
                return null;
            if (value[pos] == ')')
            {
                pos++;
                return conditions.Count == 0 ? null : conditions;
            }
            var not = false;
            if (string.Compare(value, pos, "Not", 0, 3, StringComparison.OrdinalIgnoreCase) == 0)
            {
                not = true;
                pos += 3;
                SkipSpace(value, ref pos);
                if (pos >= value.Length)
                    return null;
            }
            switch (value[pos])
            {
                case '<':
                    var token = ReadAngle(value, ref pos);
                    if (token is null)
                        return null;
                    conditions.Add(new IfCondition(not, token, null));
                    break;
                case '[':
                    var etag = ReadETag(value, ref pos);
                    if (etag is null)
                        return null;
                    conditions.Add(new IfCondition(not, null, etag));
                    break;
                default:
                    return null;
            }
        }
    }

    private static string? ReadAngle(string value, ref int pos)
    {
        var end = value.IndexOf('>', pos + 1);
        if (end < 0)
            return null;
        var inner = value.Substring(pos + 1, end - pos - 1).Trim();
        pos = end + 1;
        return inner.Length == 0 ? null : inner;
    }

    /// <summary>Reads "[entity-tag]" where the tag is W/"..." or "..."; the quotes may hold ']'.</summary>
    private static string? ReadETag(string value, ref int pos)
    {
        var start = pos + 1;
        var i = start;
        if (i + 1 < value.Length && value[i] == 'W' && value[i + 1] == '/')
            i += 2;
        if (i >= value.Length || value[i] != '"')
            return null;
        var close = value.IndexOf('"', i + 1);
        if (close < 0 || close + 1 >= value.Length || value[close + 1] != ']')
            return null;
        pos = close + 2;
        return value[start..(close + 1)];
    }

    private static void SkipSpace(string value, ref int pos)
    {
        while (pos < value.Length && value[pos] is ' ' or '\t' or '\r' or '\n')
            pos++;
    }

    /// <summary>Entity tags compared strongly: weak tags never match (RFC 4918 section 10.4.4 calls for the strong comparison).</summary>
    public static bool ETagMatches(string conditionTag, string? resourceTag) =>
        resourceTag is not null && !conditionTag.StartsWith("W/", StringComparison.Ordinal) && string.Equals(conditionTag, resourceTag, StringComparison.Ordinal);
}
