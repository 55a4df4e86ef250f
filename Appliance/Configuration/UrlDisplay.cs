namespace Appliance.Configuration;

/// <summary>URLs as shown to people: a password in the user-info part (redis://:secret@host) is masked.</summary>
public static class UrlDisplay
{
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.UserInfo.Contains(':', StringComparison.Ordinal))
            return url;
        var user = uri.UserInfo[..uri.UserInfo.IndexOf(':', StringComparison.Ordinal)];
        return url.Replace(uri.UserInfo + "@", user + ":****@", StringComparison.Ordinal);
    }
}
