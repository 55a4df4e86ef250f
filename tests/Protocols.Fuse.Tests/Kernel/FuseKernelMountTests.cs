using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests.Kernel;

public class FuseKernelMountTests
{
    [Fact]
    public void Mount_data_names_the_descriptor_owner_and_options()
    {
        Assert.Equal("fd=7,rootmode=40000,user_id=0,group_id=0,max_read=1048576",
            FuseKernelMount.MountData(7, 0, 0, 1 << 20, allowOther: false, defaultPermissions: false));
        Assert.EndsWith(",allow_other,default_permissions",
            FuseKernelMount.MountData(7, 0, 0, 1 << 20, allowOther: true, defaultPermissions: true));
    }

    [Fact]
    public void A_missing_mount_point_is_created()
    {
        var root = Directory.CreateTempSubdirectory("fuse-mp-");
        try
        {
            var path = Path.Combine(root.FullName, "mnt");
            Assert.False(FuseKernelMount.PrepareMountPoint(path));
            Assert.True(Directory.Exists(path));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_non_empty_directory_or_a_file_is_refused_with_a_clear_error()
    {
        var root = Directory.CreateTempSubdirectory("fuse-mp-");
        try
        {
            File.WriteAllText(Path.Combine(root.FullName, "precious"), "data");
            var notEmpty = Assert.Throws<FuseMountException>(() => FuseKernelMount.PrepareMountPoint(root.FullName));
            Assert.Contains("not empty", notEmpty.Message);

            var file = Assert.Throws<FuseMountException>(() => FuseKernelMount.PrepareMountPoint(Path.Combine(root.FullName, "precious")));
            Assert.Contains("not a directory", file.Message);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void Mount_device_is_found_for_the_root_file_system() =>
        Assert.Matches(@"^\d+:\d+$", FuseKernelMount.MountDevice("/"));
}
