// The API documentation page (api/templates/docs.html): Swagger UI on sohoa's own OpenAPI,
// its requests carrying the session's CSRF token. Served by sohoa: no inline script, no CDN.
(function () {
  const root = document.getElementById("swagger-ui");
  const csrf = root.dataset.csrf;
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      req.headers["X-CSRF-Token"] = csrf;
      return req;
    },
  });
})();
