//! Mounting `/api/v1` routes with who may call each: every route is registered through
//! [`Api`], which records its method, path and [`Access`] in one table. The table is what the
//! request guards consult for API keys (a route a key may call names the scope it needs), what
//! the OpenAPI description's security comes from, and what the test that every route is
//! described checks against.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

use crate::domain::ApiScope;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: signing up and in, password reset, the API description.
    Public,
    /// A candidate's invite token (`X-Interview-Token`): the token opens its own interview.
    Invite,
    /// A signed-in browser session only; API keys are refused.
    Session,
    /// A signed-in session, or an API key holding this scope.
    Key(ApiScope),
}

/// One mounted route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The full path pattern, e.g. `/api/v1/jobs/{id}`.
    pub path: String,
    pub access: Access,
}

/// The access of each method of one resource, kept in the resource's app data where the
/// request guards read it.
#[derive(Debug, Clone, Default)]
pub struct MethodAccess(Vec<(Method, Access)>);

impl MethodAccess {
    pub fn of(&self, method: &Method) -> Option<Access> {
        self.0
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, access)| *access)
    }
}

/// A scope of API routes being mounted, with the table of what was mounted.
pub struct Api {
    prefix: &'static str,
    scope: actix_web::Scope,
    table: Vec<RouteInfo>,
}

impl Api {
    pub fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            scope: web::scope(prefix),
            table: Vec::new(),
        }
    }

    /// Mounts a resource (so a known path with the wrong method is a 405) whose methods
    /// `build` adds.
    pub fn resource(
        mut self,
        path: &'static str,
        build: impl FnOnce(Endpoint) -> Endpoint,
    ) -> Self {
        let endpoint = build(Endpoint {
            resource: web::resource(path),
            access: MethodAccess::default(),
        });
        for (method, access) in &endpoint.access.0 {
            self.table.push(RouteInfo {
                method: method.clone(),
                path: format!("{}{path}", self.prefix),
                access: *access,
            });
        }
        let resource = endpoint.resource.app_data(endpoint.access);
        self.scope = self.scope.service(resource);
        self
    }

    /// The scope to mount, and the table of its routes.
    pub fn into_parts(self) -> (actix_web::Scope, Vec<RouteInfo>) {
        (self.scope, self.table)
    }
}

/// One resource's methods, each with its handler and access.
pub struct Endpoint {
    resource: actix_web::Resource,
    access: MethodAccess,
}

macro_rules! method {
    ($name:ident, $method:ident) => {
        pub fn $name<F, Args>(self, access: Access, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.route(Method::$method, access, handler)
        }
    };
}

impl Endpoint {
    method!(get, GET);
    method!(post, POST);
    method!(put, PUT);
    method!(patch, PATCH);
    method!(delete, DELETE);

    /// Data for this resource's handlers (a body size limit, say).
    pub fn app_data<U: 'static>(mut self, data: U) -> Self {
        self.resource = self.resource.app_data(data);
        self
    }

    fn route<F, Args>(mut self, method: Method, access: Access, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::method(method.clone()).to(handler));
        self.access.0.push((method, access));
        self
    }
}
