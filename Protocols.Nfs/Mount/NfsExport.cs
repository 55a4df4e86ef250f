using System.Net;

namespace Protocols.Nfs.Mount;

/// <summary>How client identities are mapped before permission checks.</summary>
public enum NfsSquash : byte
{
    /// <summary>Callers keep their uid and gid, root included.</summary>
    None,
    /// <summary>uid 0 becomes the anonymous user (the usual default).</summary>
    Root,
    /// <summary>Every caller becomes the anonymous user.</summary>
    All,
}

/// <summary>One exported directory of the volume and the rules for the clients that may mount it.</summary>
/// <param name="Path">Absolute path inside the volume; "/" is the volume root.</param>
/// <param name="Clients">Networks allowed to mount; empty allows every address.</param>
/// <param name="RequirePrivilegedPort">Refuse clients whose source port is above 1023 (off by default: user-space clients use high ports).</param>
public sealed record NfsExport(
    string Path = "/",
    IReadOnlyList<IPNetwork>? Clients = null,
    bool ReadOnly = false,
    NfsSquash Squash = NfsSquash.None,
    uint AnonUid = 65534,
    uint AnonGid = 65534,
    bool RequirePrivilegedPort = false)
{
    /// <summary>Whether a client at <paramref name="address"/> may use this export.</summary>
    public bool Admits(IPAddress address)
    {
        if (Clients is null || Clients.Count == 0)
            return true;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in Clients)
            if (network.Contains(address))
                return true;
        return false;
    }

    /// <summary>Parses "10.0.0.0/8", "192.168.1.7" or "*" into the networks an export admits.</summary>
    public static IReadOnlyList<IPNetwork> ParseClients(string spec)
    {
        var networks = new List<IPNetwork>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part == "*")
                return [];
            if (part.Contains('/'))
                networks.Add(IPNetwork.Parse(part));
            else
            {
                var address = IPAddress.Parse(part);
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
        }
        return networks;
    }
}
