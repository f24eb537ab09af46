// Starts Swagger UI on /api/docs. Loaded from /static because the CSP allows no inline
// script (FastAPI's own docs page, fastapi.openapi.docs.get_swagger_ui_html, starts it
// inline); reads the OpenAPI document's URL from the page. The options are FastAPI's
// swagger_ui_default_parameters, and no validator badge (it would ask validator.swagger.io):
// https://swagger.io/docs/open-source-tools/swagger-ui/usage/configuration/
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
