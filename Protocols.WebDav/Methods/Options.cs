using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>OPTIONS: announces class 1 and 2 and every method, on any path (Explorer asks on "/" whatever the mount path).</summary>
public static class Options
{
    public const string Allow = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

    public static void Handle(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers["DAV"] = "1, 2";
        response.Headers["MS-Author-Via"] = "DAV";
        response.Headers.Allow = Allow;
        response.ContentLength = 0;
    }
}
