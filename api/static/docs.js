// Starts Swagger UI on the Draftgate API docs page (api/docs.py). A file, not an inline script,
// so that a Content-Security-Policy without 'unsafe-inline' scripts allows it. The validator
// badge is off: it would load an image from swagger.io.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    persistAuthorization: false,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
  });
});
