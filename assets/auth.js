// When a page's data requests start answering 401 (the session ended, the user was signed out,
// the kiosk link was revoked), reload the page: the server then sends it to the sign-in page.
// The renderer is handed an empty "nothing changed" answer meanwhile, so it reports no error.
// At most once a minute, so a browser refusing cookies never loops.
(function () {
    const originalFetch = window.fetch;
    window.fetch = function (resource) {
        return originalFetch.apply(this, arguments).then(function (response) {
            const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
            if (response.status !== 401 || url.indexOf("_dash-update-component") === -1) {
                return response;
            }
            const last = Number(window.sessionStorage.getItem("floorboard-auth-reload") || 0);
            if (Date.now() - last < 60000) {
                return response;
            }
            window.sessionStorage.setItem("floorboard-auth-reload", String(Date.now()));
            window.location.reload();
            return new Response(null, {status: 204});
        });
    };
})();
