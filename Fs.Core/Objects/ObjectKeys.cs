namespace Fs.Core.Objects;

/// <summary>The key rules every object store enforces, so that a volume's objects can move between stores unchanged.</summary>
internal static class ObjectKeys
{
    /// <summary>Name prefix of files the local store is still writing; reserved in every store so no key ever collides with one.</summary>
    public const string TempPrefix = ".tmp.";

    /// <summary>Keys are relative, slash-separated names without empty, '.' or '..' segments.</summary>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
            throw new ArgumentException("object key is empty", nameof(key));
        if (key.EndsWith('/'))
            throw new ArgumentException($"object key ends with '/': '{key}'", nameof(key));
        ValidateSegments(key, nameof(key));
        var name = key[(key.LastIndexOf('/') + 1)..];
        if (name.StartsWith(TempPrefix, StringComparison.Ordinal))
            throw new ArgumentException($"object key uses the reserved name prefix '{TempPrefix}': '{key}'", nameof(key));
    }

    /// <summary>A list prefix is empty or a key's beginning, optionally ending in '/'.</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
            return;
        ValidateSegments(prefix.EndsWith('/') ? prefix[..^1] : prefix, nameof(prefix));
    }

    private static void ValidateSegments(string value, string parameter)
    {
        if (value.Contains('\\') || value.Contains('\0'))
            throw new ArgumentException($"'{value.Replace("\0", "\\0")}' contains a backslash or NUL", parameter);
        if (value.StartsWith('/'))
            throw new ArgumentException($"'{value}' is absolute", parameter);
        foreach (var segment in value.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
                throw new ArgumentException($"'{value}' has an empty, '.' or '..' path segment", parameter);
        }
    }
}
