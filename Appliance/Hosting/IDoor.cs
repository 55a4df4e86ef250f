namespace Appliance.Hosting;

/// <summary>A way into the volume (NFS, WebDAV, FUSE mount), run as a hosted service that depends on <see cref="VolumeService"/>.</summary>
public interface IDoor
{
    /// <summary>What the ready line says about it once it serves, e.g. "nfs on 0.0.0.0:2049".</summary>
    string Description { get; }
}
