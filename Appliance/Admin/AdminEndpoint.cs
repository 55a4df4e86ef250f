using System.Net;
using Appliance.Configuration;

namespace Appliance.Admin;

/// <summary>Where the admin HTTP endpoint listens, from <c>--admin ADDR:PORT|off</c> or the Admin setting.</summary>
/// <param name="Endpoint">The address to bind; null when the endpoint is off.</param>
/// <param name="Given">True when the operator chose the address; only the default may move to a free port when taken.</param>
public sealed record AdminEndpoint(IPEndPoint? Endpoint, bool Given)
{
    public const int DefaultPort = 9567;

    public static readonly IPEndPoint DefaultEndpoint = new(IPAddress.Loopback, DefaultPort);

    /// <summary>
    /// Parses <c>off</c>, <c>ADDR:PORT</c> (e.g. 0.0.0.0:9567, [::1]:9567; port 0 takes any free port, which the
    /// "admin endpoint on" log line then names) or nothing (the default, 127.0.0.1:9567).
    /// </summary>
    public static AdminEndpoint Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return new AdminEndpoint(DefaultEndpoint, Given: false);
        text = text.Trim();
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
            return new AdminEndpoint(null, Given: true);
        if (IPEndPoint.TryParse(text, out var endpoint) && HasPort(text))
            return new AdminEndpoint(endpoint, Given: true);
        throw new InvalidSettingException($"{SettingKeys.Admin}: '{text}' is not ADDR:PORT (e.g. 127.0.0.1:9567, 0.0.0.0:9567, [::]:9567) or off");
    }

    /// <summary>IPEndPoint.TryParse takes a bare address as port 0; the admin address needs its port spelled out.</summary>
    private static bool HasPort(string text) =>
        text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(c => c == ':') == 1;
}
