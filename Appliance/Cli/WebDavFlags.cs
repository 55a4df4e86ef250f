using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Protocols.WebDav;

namespace Appliance.Cli;

/// <summary>The serve flags of the WebDAV door, read into <see cref="WebDavOptions"/> (null when the door is off).</summary>
internal sealed class WebDavFlags
{
    private readonly Option<string> _listen = new("--webdav")
    {
        Description = "WebDAV address and port, or 'off'",
        HelpName = "ADDR:PORT|off",
        DefaultValueFactory = _ => "127.0.0.1:8080",
    };

    private readonly Option<string> _prefix = new("--webdav-prefix") { Description = "URL path the volume is served under", HelpName = "PATH", DefaultValueFactory = _ => "/" };
    private readonly Option<string?> _users = new("--webdav-users") { Description = "Users file for Basic authentication (see 'webdav-user add'); none = no authentication", HelpName = "FILE" };
    private readonly Option<string?> _cert = new("--webdav-cert") { Description = "TLS certificate (PEM, or PKCS#12 .pfx/.p12)", HelpName = "FILE" };
    private readonly Option<string?> _certKey = new("--webdav-cert-key") { Description = "Private key of a PEM certificate, when not in the certificate file", HelpName = "FILE" };
    private readonly Option<bool> _allowBasicOverHttp = new("--webdav-allow-basic-over-http") { Description = "Allow Basic authentication without TLS on a non-loopback address" };
    private readonly Option<uint> _anonymousUid = new("--webdav-anonymous-uid") { Description = "Volume uid of requests when authentication is off [default: 0]", HelpName = "UID" };
    private readonly Option<uint> _anonymousGid = new("--webdav-anonymous-gid") { Description = "Volume gid of requests when authentication is off [default: 0]", HelpName = "GID" };
    private readonly Option<bool> _infiniteDepth = new("--webdav-allow-infinite-propfind") { Description = "Answer PROPFIND with Depth: infinity (it can walk the whole volume)" };

    public void AddTo(Command command)
    {
        command.Options.Add(_listen);
        command.Options.Add(_prefix);
        command.Options.Add(_users);
        command.Options.Add(_cert);
        command.Options.Add(_certKey);
        command.Options.Add(_allowBasicOverHttp);
        command.Options.Add(_anonymousUid);
        command.Options.Add(_anonymousGid);
        command.Options.Add(_infiniteDepth);
    }

    public WebDavOptions? Read(ParseResult parse, string workingDirectory)
    {
        var listen = parse.GetValue(_listen)!.Trim();
        if (listen.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw new InvalidSettingException($"--webdav: '{listen}' is not ADDR:PORT or off");
        var address = colon == 0 ? "127.0.0.1" : listen[..colon];
        string? Full(string? path) => path is null ? null : Path.GetFullPath(path, workingDirectory);
        return new WebDavOptions
        {
            Address = address,
            Port = port,
            Prefix = parse.GetValue(_prefix)!,
            UsersFile = Full(parse.GetValue(_users)),
            CertificateFile = Full(parse.GetValue(_cert)),
            CertificateKeyFile = Full(parse.GetValue(_certKey)),
            AllowBasicOverHttp = parse.GetValue(_allowBasicOverHttp),
            AnonymousUid = parse.GetValue(_anonymousUid),
            AnonymousGid = parse.GetValue(_anonymousGid),
            AllowInfiniteDepthPropfind = parse.GetValue(_infiniteDepth),
        };
    }
}
