namespace Protocols.WebDav;

/// <summary>Settings of the WebDAV door: where it listens, who may use it and the limits it enforces.</summary>
public sealed record WebDavOptions
{
    /// <summary>Address to bind: an IP address, "localhost", or "*" for every interface.</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="WebDavServer.BaseUri"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>URL path the volume root is served under, e.g. "/" or "/dav".</summary>
    public string Prefix { get; init; } = "/";

    /// <summary>Certificate for HTTPS: a PEM file (key inside or in <see cref="CertificateKeyFile"/>) or a PKCS#12 file (.pfx/.p12).</summary>
    public string? CertificateFile { get; init; }

    public string? CertificateKeyFile { get; init; }

    /// <summary>Password of a PKCS#12 certificate or an encrypted PEM key.</summary>
    public string? CertificatePassword { get; init; }

    /// <summary>Users file (see <see cref="WebDavUsers"/>); null serves everyone as the anonymous uid/gid without asking.</summary>
    public string? UsersFile { get; init; }

    /// <summary>Whether Basic credentials may travel over plain HTTP on a non-loopback address.</summary>
    public bool AllowBasicOverHttp { get; init; }

    public string Realm { get; init; } = "Appliance";

    /// <summary>The identity requests act as when authentication is off.</summary>
    public uint AnonymousUid { get; init; }

    public uint AnonymousGid { get; init; }

    /// <summary>Whether PROPFIND with Depth: infinity is answered (it can walk the whole volume) or refused with 403.</summary>
    public bool AllowInfiniteDepthPropfind { get; init; }

    /// <summary>The longest lock timeout granted; longer or infinite requests get this.</summary>
    public TimeSpan MaxLockTimeout { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Lock timeout when the client asks for none.</summary>
    public TimeSpan DefaultLockTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Largest XML request body (PROPFIND, PROPPATCH, LOCK) accepted; bigger ones get 413.</summary>
    public int MaxXmlBodyBytes { get; init; } = 1 << 20;

    /// <summary>Mode bits of files and collections created through WebDAV (before any volume policy).</summary>
    public uint FileMode { get; init; } = 0x1A4; // 0644

    public uint DirectoryMode { get; init; } = 0x1ED; // 0755
}
