using System.Net;
using Protocols.Nfs.Mount;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs;

/// <summary>Where and how the NFS door listens, what it exports, and the limits it keeps.</summary>
public sealed record NfsServerOptions
{
    /// <summary>NFS (and by default MOUNT, NLM, NSM) on this TCP endpoint; port 0 picks a free one.</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 2049);

    /// <summary>A separate port for MOUNT (TCP and UDP); null serves MOUNT on <see cref="EndPoint"/> only.</summary>
    public int? MountPort { get; init; }

    /// <summary>Run a portmapper, so clients that give no port options (and the kernel's lock client) find the services.</summary>
    public bool Portmap { get; init; } = true;

    /// <summary>The portmapper's port: 111 everywhere, changeable only for tests.</summary>
    public int PortmapPort { get; init; } = 111;

    public IReadOnlyList<NfsExport> Exports { get; init; } = [new NfsExport()];

    /// <summary>After a start only lock reclaims are accepted for this long, so clients recover the locks they held.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an open file stays cached after its last READ or WRITE.</summary>
    public TimeSpan OpenFileIdle { get; init; } = TimeSpan.FromSeconds(30);

    public RpcConnectionLimits Connections { get; init; } = new();
}
